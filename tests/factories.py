"""Made-up notebooks and product declarations for the DAG and runner tests; a local HTTP
receiver for webhooks."""
import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import nbformat

from shared_lib import products

PARAMETERS = 'env = "dev"\nrun_id = "interactive"\noverrides = {}'


def write_notebook(path, *cells, parameters=PARAMETERS, tagged=True):
    """A notebook with a parameters cell (tagged unless ``tagged`` is false) and ``cells``."""
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell(parameters)
    if tagged:
        params.metadata["tags"] = ["parameters"]
    nb.cells = [params] + [nbformat.v4.new_code_cell(c) for c in cells or ("pass",)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))


def declare(tmp_path, name, nodes, write=True, runs_after=None):
    """A product.yaml of ``nodes`` = [(notebook, depends_on, cells, extra parameters)]; its
    notebooks written (unless already there, or ``write`` is false). ``runs_after`` maps a
    notebook to its order-only predecessors. Returns the parsed product."""
    folder = tmp_path / name
    folder.mkdir(exist_ok=True)
    lines = [f"name: {name}", "owner: test", "notebooks:"]
    for nb_name, deps, cells, extra in nodes:
        path = folder / f"{nb_name}.ipynb"
        if write and not path.exists():
            write_notebook(path, *cells)
        lines += [f"  - name: {nb_name}", f"    path: {path}", "    layer: bronze",
                  f"    depends_on: {list(deps)}", f"    parameters: {extra or {}}"]
        if runs_after and nb_name in runs_after:
            lines.append(f"    runs_after: {list(runs_after[nb_name])}")
    (folder / "product.yaml").write_text("\n".join(lines) + "\n")
    return products.parse(folder / "product.yaml")


@contextlib.contextmanager
def http_receiver():
    """A local HTTP server on a free port that keeps every JSON body POSTed to it: yields
    (url, list of bodies)."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alerts", received
    finally:
        server.shutdown()

"""A broker that does not answer stops bronze at once, naming its address and the fix."""
import pytest

from runners import services
from shared_lib import kafka as kafka_lib


def _params(port: int) -> dict:
    return {"platform": {"services": {"kafka": {"host": "127.0.0.1", "port": port}}}}


def test_no_broker_on_the_port_is_kafka_unavailable_naming_address_topic_and_fix():
    port = services.free_ports(1)[0]  # free: nothing listens there
    with pytest.raises(kafka_lib.KafkaUnavailable) as caught:
        kafka_lib.require_broker(_params(port), "web.events")
    assert str(caught.value) == (f"the Kafka broker at 127.0.0.1:{port} does not answer, so web.events cannot be "
                                 "read: start it with `dp up` (nothing was ingested; the next run resumes where "
                                 "the last stopped)")


def test_a_listening_broker_port_passes():
    import socket
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        kafka_lib.require_broker(_params(server.getsockname()[1]), "web.events")

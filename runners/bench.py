"""placeholder"""
def main(quick=False, events=200000):
    raise NotImplementedError

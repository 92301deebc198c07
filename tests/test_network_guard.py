"""The whole suite runs with non-loopback network access blocked."""

import socket

import pytest


# pytest-socket also warns about the attempt it blocks; here the attempt is the point.
@pytest.mark.filterwarnings("ignore:A test tried to use socket:UserWarning")
def test_public_address_is_blocked():
    from pytest_socket import SocketConnectBlockedError

    with pytest.raises(SocketConnectBlockedError):
        socket.create_connection(("93.184.216.34", 80), timeout=1)


def test_loopback_is_allowed():
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port), timeout=2)
    client.close()
    server.close()

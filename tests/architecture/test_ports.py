"""The runtime's ports (docs/adr/0020) are all connected once Django has started, each to a
function of the module its declaration names, and an unconnected port fails loudly."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from apps.executions.runtime import ports


def test_every_port_is_connected_at_start_up_by_its_provider() -> None:
    assert sorted(ports.connected()) == sorted(p.name for p in ports.ALL)
    for port in ports.ALL:
        assert port.call.__module__.startswith(port.provider), (port.name, port.call.__module__)


def test_an_unconnected_port_names_who_should_connect_it() -> None:
    port: ports.Port[Callable[[], str]] = ports.Port("example", "apps.example.module")
    with pytest.raises(ports.PortNotConnected, match=r"'example'.*apps\.example\.module"):
        port.call()


def test_connecting_again_replaces_the_function() -> None:
    port: ports.Port[Callable[[], str]] = ports.Port("example", "tests")
    port.connect(lambda: "first")
    port.connect(lambda: "second")
    assert port.call() == "second"

from tests.core.fake_network import fake_hosts, fake_network  # noqa: F401 - fixture re-export

"""The SSRF guard: only http(s) URLs whose every address is public, on save and at each send."""

import pytest

from webhooks import network
from webhooks.models import Webhook

from .factories import WebhookFactory

LIST = "/api/v1/webhooks/"

BLOCKED = [
    "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.5.4", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "0.0.0.0", "224.0.0.1", "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1",
    "fec0::1", "ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1",
    "64:ff9b::7f00:1",
]


@pytest.mark.parametrize("address", BLOCKED)
def test_every_non_public_address_is_blocked(address):
    import ipaddress

    assert network._blocked(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_public_addresses_pass(address):
    import ipaddress

    assert not network._blocked(ipaddress.ip_address(address))


def create(client, url):
    return client.post(LIST, {"url": url, "events": ["ping"]}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/x", "http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/", "http://[::1]:8080/",
     "http://[::ffff:127.0.0.1]/", "https://0x7f000001/", "http://2130706433/"],
)
def test_saving_a_url_on_a_private_address_is_a_400_naming_url(client_for, guard_on, url):
    response = create(client_for(_user()), url)

    assert response.status_code == 400, response.content
    assert "not a public address" in response.json()["url"][0] or "valid URL" in response.json()["url"][0]
    assert not Webhook.objects.exists()


def _user():
    from accounts.tests.factories import UserFactory

    return UserFactory()


@pytest.mark.django_db
@pytest.mark.parametrize("addresses", [["127.0.0.1"], ["10.0.0.1"], ["169.254.169.254"], ["::1"],
                                       ["93.184.216.34", "192.168.0.7"]])
def test_a_hostname_resolving_to_any_private_address_is_refused(client_for, guard_on, addresses):
    guard_on["inside.example.com"] = addresses

    response = create(client_for(_user()), "https://inside.example.com/hook")

    assert response.status_code == 400
    assert "inside.example.com" in response.json()["url"][0]


@pytest.mark.django_db
def test_localhost_is_refused_for_real(client_for, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = False

    response = create(client_for(_user()), "http://localhost:9999/hook")

    assert response.status_code == 400
    assert "is not a public address" in response.json()["url"][0]


@pytest.mark.django_db
def test_an_unresolvable_host_is_refused(client_for, guard_on, monkeypatch):
    import socket

    def fail(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)

    response = create(client_for(_user()), "https://nowhere.invalid/")

    assert response.status_code == 400 and "does not resolve" in response.json()["url"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/x", "http://localhost/x", "http://10.0.0.1/"])
def test_private_networks_are_allowed_with_the_setting(client_for, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True

    assert create(client_for(_user()), url).status_code == 201


@pytest.mark.django_db
def test_a_patch_to_a_private_url_is_refused_and_changes_nothing(client_for, guard_on):
    webhook = WebhookFactory()
    guard_on["rebind.example.com"] = ["127.0.0.1"]

    response = client_for(webhook.owner).patch(f"{LIST}{webhook.id}/", {"url": "http://rebind.example.com/"},
                                               format="json")

    assert response.status_code == 400 and "url" in response.json()
    webhook.refresh_from_db()
    assert webhook.url.startswith("https://hooks.example.com/")


def test_the_request_goes_to_the_checked_address_with_the_host_header(guard_on):
    guard_on["hooks.example.com"] = ["93.184.216.34", "2606:4700::1"]

    target = network.resolve("https://hooks.example.com:8443/in?x=1")

    assert (target.scheme, target.host, target.port, target.path, target.address) == (
        "https", "hooks.example.com", 8443, "/in?x=1", "93.184.216.34"
    )

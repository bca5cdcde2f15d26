"""The seed (default and custom), the media host and the /_sandbox/state inspection endpoint."""

from __future__ import annotations

import json

import pytest

from cardkit.sandbox import Sandbox, SeedError, load_seed

# docs/ARCHITECTURE.md, "The sample numbers and who owns them in the sandbox's default seed"
SAMPLE_OWNERS = {
    "blooio": {"+14155552671", "+14155552672", "+14155552673", "+12125550123", "+13105551234", "+16175550199",
               "+12025550147"},
    "sendblue": {"+13125550182", "+15125550110", "+14155552674", "+14155552675", "+12065550155", "+17185550123"},
    "linq": {"+14085550111", "+19175550133", "+16465550188", "+13235550177", "+14045550166", "+4915123456789"},
}


def test_default_seed_owns_the_sample_numbers_and_only_them():
    """The packaged seed gives each provider exactly the sample numbers ARCHITECTURE.md assigns it."""
    seed = load_seed()
    assert {name: set(getattr(seed, name).lines) for name in SAMPLE_OWNERS} == SAMPLE_OWNERS
    assert seed.blooio.lines["+12025550147"].plan == "standard"
    assert all(line.plan == "dedicated_commercial" for n, line in seed.blooio.lines.items() if n != "+12025550147")
    assert not any("+17025550144" in getattr(seed, name).lines for name in SAMPLE_OWNERS)


def test_credentials_are_the_first_of_each_provider():
    """Sandbox.credentials has the contract's shape with realistic test keys."""
    creds = Sandbox().credentials
    assert set(creds) == {"blooio", "sendblue", "linq"}
    assert creds["blooio"]["api_key"].startswith("bl_test_")
    assert set(creds["sendblue"]) == {"key_id", "secret"} and set(creds["linq"]) == {"api_key"}


def test_base_urls_follow_the_mounts():
    """base_urls puts each mount (and the media host) under the given origin."""
    assert Sandbox().base_urls("http://127.0.0.1:8787/") == {
        "blooio": "http://127.0.0.1:8787/blooio/v2/api", "sendblue": "http://127.0.0.1:8787/sendblue",
        "linq": "http://127.0.0.1:8787/linq/api/partner", "media": "http://127.0.0.1:8787/_sandbox/media"}


def test_seed_file_is_read(tmp_path):
    """A JSON seed file replaces the default."""
    path = tmp_path / "seed.json"
    path.write_text(json.dumps({"linq": {"api_keys": ["lk"], "numbers": ["+15550001111"]}}))
    sandbox = Sandbox(path)
    assert sandbox.credentials == {"linq": {"api_key": "lk"}}
    assert list(sandbox.seed.linq.lines) == ["+15550001111"] and sandbox.seed.blooio.lines == {}


@pytest.mark.parametrize("seed, words", [
    ([], "top level must be a JSON object"),
    ({"twilio": {}}, "unknown key 'twilio'"),
    ({"blooio": {"api_keys": "bl_test"}}, "blooio.api_keys must be a list of strings"),
    ({"blooio": {"api_keys": [""]}}, "blooio.api_keys[0] must be a non-empty string"),
    ({"blooio": {"numbers": [{"number": "+14155552671", "plan": "gold"}]}}, "blooio.numbers[0].plan must be one of"),
    ({"linq": {"numbers": ["4155552671"]}}, "linq.numbers[0].number must be an E.164 number"),
    ({"linq": {"numbers": ["+14155552671", "+14155552671"]}}, "linq.numbers[1].number +14155552671 is listed twice"),
    ({"sendblue": {"credentials": [{"key_id": "k"}]}}, "sendblue.credentials[0].secret must be a non-empty string"),
    ({"sendblue": {"numbers": [{"number": "+14155552671", "plan": "standard"}]}}, "unknown key sendblue.numbers[0].plan"),
    ({"linq": {"api_key": ["x"]}}, "unknown key linq.api_key"),
])
def test_malformed_seed_is_a_clear_error_naming_the_key(seed, words):
    """Every seed mistake raises SeedError whose message names the key at fault."""
    with pytest.raises(SeedError) as caught:
        Sandbox(seed)
    assert words in str(caught.value)


def test_seed_file_that_is_not_json_names_the_line(tmp_path):
    """A broken JSON file is reported with its path and line, not a traceback of json internals."""
    path = tmp_path / "seed.json"
    path.write_text('{"linq": {\n  "api_keys": [,]}}')
    with pytest.raises(SeedError, match=r"seed .*seed.json: not valid JSON \(line 2"):
        load_seed(path)


def test_missing_seed_file_says_so(tmp_path):
    """A seed path that does not exist is a SeedError, not FileNotFoundError."""
    with pytest.raises(SeedError, match="no such file"):
        load_seed(tmp_path / "nope.json")



@pytest.mark.anyio
async def test_media_upload_answers_a_url_that_serves_the_bytes(client, jpeg_bytes):
    """POST /_sandbox/media returns a URL on the client's origin; GET on it returns the bytes and type."""
    response = await client.post("/_sandbox/media", content=jpeg_bytes, headers={"content-type": "image/jpeg"})
    assert response.status_code == 201
    url = response.json()["url"]
    assert url.startswith("http://sandbox.local/_sandbox/media/")
    served = await client.get(url)
    assert served.content == jpeg_bytes and served.headers["content-type"] == "image/jpeg"


@pytest.mark.anyio
async def test_media_upload_of_nothing_is_400_and_unknown_id_is_404(client):
    """An empty upload is refused; an unknown id is 404."""
    assert (await client.post("/_sandbox/media", content=b"")).status_code == 400
    assert (await client.get("/_sandbox/media/0123456789abcdef01234567")).status_code == 404


@pytest.mark.anyio
async def test_media_upload_guesses_the_type_of_untyped_bytes(client, png_bytes):
    """Bytes posted without a Content-Type are typed from their magic bytes."""
    response = await client.post("/_sandbox/media", content=png_bytes)
    assert response.json()["content_type"] == "image/png"


@pytest.mark.anyio
async def test_state_over_http_equals_state_in_process(client, auth, sandbox):
    """GET /_sandbox/state is Sandbox.state() as JSON, with requests counted per provider."""
    await client.put("/blooio/v2/api/me/numbers/%2B14155552671/contact-card", json={"first_name": "A"},
                     headers=auth["blooio"])
    await client.get("/linq/api/partner/v3/contact_card", headers={"Authorization": "Bearer wrong"})
    over_http = (await client.get("/_sandbox/state")).json()
    assert over_http == sandbox.state()
    assert over_http["blooio"]["requests"] == 1 and over_http["blooio"]["writes"] == 1
    assert over_http["linq"]["requests"] == 1 and over_http["linq"]["writes"] == 0
    assert over_http["sendblue"]["contacts"] == {} and over_http["faults"] == []


def test_state_and_repr_hold_no_secret():
    """Neither the state nor the repr shows a credential."""
    sandbox = Sandbox()
    text = json.dumps(sandbox.state()) + repr(sandbox)
    secrets = [sandbox.credentials["blooio"]["api_key"], sandbox.credentials["sendblue"]["secret"],
               sandbox.credentials["linq"]["api_key"]]
    assert not any(secret in text for secret in secrets)


@pytest.mark.anyio
@pytest.mark.parametrize("provider, method, path, status, shape", [
    ("blooio", "GET", "/blooio/v2/api/me/cards", 404, {"error", "message", "status"}),
    ("blooio", "DELETE", "/blooio/v2/api/me/numbers/%2B14155552671/contact-card", 405, {"error", "message", "status"}),
    ("sendblue", "GET", "/sendblue/api/v2/contact-sharing/share", 404, {"status", "message"}),
    ("linq", "DELETE", "/linq/api/partner/v3/contact_card", 405, {"success", "error", "trace_id"}),
    ("linq", "GET", "/linq/api/partner/v3/contact_cards", 404, {"success", "error", "trace_id"}),
])
async def test_unknown_endpoints_answer_in_the_providers_envelope(client, auth, provider, method, path, status, shape):
    """A path or method the provider does not have is a 404/405 in its own error envelope, after auth."""
    response = await client.request(method, path, headers=auth[provider])
    assert response.status_code == status and set(response.json()) == shape
    unauthenticated = await client.request(method, path)
    assert unauthenticated.status_code == 401

"""The S3 photo host against a real S3 server (moto's server mode on loopback), end to end with the sandbox."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest

pytest.importorskip("obstore", reason="the s3 extra (pip install 'cardkit[s3]') is not installed")
boto3 = pytest.importorskip("boto3")
pytest.importorskip("moto.moto_server.werkzeug_app")

import cardkit  # noqa: E402
from cardkit.engine import retry_policy  # noqa: E402
from cardkit.errors import (  # noqa: E402
    ConfigError,  # noqa: E402
    Permanent,
    Transient,
)
from cardkit.providers.media import PhotoHost, SandboxPhotoHost, resolve_photo_host  # noqa: E402
from cardkit.providers.s3_host import S3PhotoHost, without_signature  # noqa: E402
from cardkit.sandbox import Sandbox  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SECRET = "moto-secret-Zx81kQ"
BUCKET = "cardkit-photos"
SENDBLUE, LINQ = "+13125550182", "+14085550111"


class S3Server:
    """moto's S3 server on 127.0.0.1 (werkzeug in a thread), with a log of the requests it served."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        self.requests: list[tuple[str, str]] = []
        app = DomainDispatcherApplication(create_backend_app)

        def logged(environ, start_response):
            self.requests.append((environ["REQUEST_METHOD"], environ.get("PATH_INFO", "")))
            return app(environ, start_response)

        class Quiet(MotoRequestHandler):
            def log_request(self, *args, **kwargs) -> None:
                pass

        self.server = make_server("127.0.0.1", 0, logged, threaded=True, request_handler=Quiet)
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self, method: str, key_part: str = "") -> int:
        return sum(1 for m, path in self.requests if m == method and key_part in path)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def s3_server():
    server = S3Server()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch):
    """The standard AWS environment pointing at the loopback S3 server, and a fresh empty bucket."""
    env = {"AWS_ENDPOINT_URL": s3_server.endpoint, "AWS_ACCESS_KEY_ID": "AKIATESTCARDKIT",
           "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT", "AWS_SESSION_TOKEN", "AWS_PROFILE", "CARDKIT_PHOTO_HOST",
                 "CARDKIT_PHOTO_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    client = boto3.client("s3", endpoint_url=s3_server.endpoint, region_name="us-east-1",
                          aws_access_key_id="AKIATESTCARDKIT", aws_secret_access_key=SECRET)
    client.create_bucket(Bucket=BUCKET)
    s3_server.requests.clear()
    yield client
    for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        client.delete_object(Bucket=BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=BUCKET)


@pytest.fixture(scope="module")
def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 40), (200, 30, 90)).save(out, format="PNG")
    return out.getvalue()


def make_public(client) -> None:
    """A bucket policy letting anyone read the objects: what a public bucket behind a base URL has."""
    client.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{BUCKET}/*"}]}))


def keys(client) -> list[str]:
    return sorted(item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", []))


# -- the host itself --------------------------------------------------------------------------------

@pytest.mark.anyio
async def test_upload_puts_a_content_addressed_jpeg_once_across_runs(s3, s3_server, jpeg):
    """Two hosts (two runs) upload the same photo: one PUT, key <sha256>.jpg, Content-Type image/jpeg."""
    digest = hashlib.sha256(jpeg).hexdigest()
    first, second = S3PhotoHost(f"s3://{BUCKET}/cards"), S3PhotoHost(f"s3://{BUCKET}/cards/")
    url_1 = await first.upload(jpeg, "image/jpeg")
    url_1_again = await first.upload(jpeg, "image/jpeg")
    url_2 = await second.upload(jpeg, "image/jpeg")
    assert keys(s3) == [f"cards/{digest}.jpg"]
    assert s3_server.count("PUT", digest) == 1 and (first.uploads, second.uploads) == (1, 0)
    assert s3_server.count("HEAD", digest) == 2      # one look per host; none for a key it already knows
    assert s3.head_object(Bucket=BUCKET, Key=f"cards/{digest}.jpg")["ContentType"] == "image/jpeg"
    for url in (url_1, url_1_again, url_2):
        assert url.startswith(f"{s3_server.endpoint}/{BUCKET}/cards/{digest}.jpg?")
    assert isinstance(first, PhotoHost)


@pytest.mark.anyio
async def test_presigned_url_downloads_the_bytes_and_lives_seven_days(s3, jpeg):
    """The default URL is a SigV4 presigned GET (X-Amz-Expires=604800) that serves the very bytes."""
    url = await S3PhotoHost(f"s3://{BUCKET}/p").upload(jpeg, "image/jpeg")
    query = httpx.URL(url).params
    assert query["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and query["X-Amz-Expires"] == "604800"
    got = httpx.get(url)
    assert got.status_code == 200 and got.content == jpeg and got.headers["content-type"] == "image/jpeg"
    assert SECRET not in url
    assert httpx.get(url.split("?")[0]).status_code == 403     # the bucket is private: the signature is the key


@pytest.mark.anyio
async def test_shorter_expiry_is_signed_as_asked(s3, png):
    """expires=timedelta(hours=2): X-Amz-Expires=7200; a PNG keeps its type and gets .png."""
    host = S3PhotoHost(f"s3://{BUCKET}", expires=timedelta(hours=2))
    url = await host.upload(png, "image/png")
    assert httpx.URL(url).params["X-Amz-Expires"] == "7200"
    assert keys(s3) == [hashlib.sha256(png).hexdigest() + ".png"]


@pytest.mark.anyio
async def test_base_url_mode_hands_out_the_public_address(s3, s3_server, jpeg):
    """base_url: the URL is base + <sha256>.jpg (no signature), and the object is still uploaded once."""
    digest = hashlib.sha256(jpeg).hexdigest()
    host = S3PhotoHost(f"s3://{BUCKET}/cardkit", base_url="https://cdn.example.com/cardkit")
    assert await host.upload(jpeg, "image/jpeg") == f"https://cdn.example.com/cardkit/{digest}.jpg"
    assert keys(s3) == [f"cardkit/{digest}.jpg"] and s3_server.count("PUT", digest) == 1
    make_public(s3)
    public = S3PhotoHost(f"s3://{BUCKET}/cardkit", base_url=f"{s3_server.endpoint}/{BUCKET}/cardkit/")
    assert httpx.get(await public.upload(jpeg, "image/jpeg")).content == jpeg
    assert s3_server.count("PUT", digest) == 1


@pytest.mark.anyio
async def test_an_object_of_another_size_under_the_key_is_replaced(s3, s3_server, jpeg):
    """A truncated object left under the digest's key (an interrupted upload elsewhere) is uploaded again."""
    digest = hashlib.sha256(jpeg).hexdigest()
    s3.put_object(Bucket=BUCKET, Key=f"{digest}.jpg", Body=jpeg[:100])
    await S3PhotoHost(f"s3://{BUCKET}").upload(jpeg, "image/jpeg")
    assert s3.get_object(Bucket=BUCKET, Key=f"{digest}.jpg")["Body"].read() == jpeg


def test_repr_and_errors_never_show_the_secret(s3):
    """repr names the bucket and the URL mode only."""
    assert repr(S3PhotoHost(f"s3://{BUCKET}/x")) == f"S3PhotoHost('s3://{BUCKET}/x', presigned for 7 days)"
    host = S3PhotoHost(f"s3://{BUCKET}/x", base_url="https://cdn.example.com/x/")
    assert "cdn.example.com" in repr(host) and SECRET not in repr(host) and "AKIA" not in repr(host)


@pytest.mark.anyio
async def test_an_unreachable_store_is_a_transient_failure_without_secrets(s3, monkeypatch, jpeg):
    """AWS_ENDPOINT_URL at a closed port: Transient naming the object and the remedy, not the credentials."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    host = S3PhotoHost(f"s3://{BUCKET}/x", timeout=timedelta(seconds=2))
    with pytest.raises(Transient) as failure:
        await host.upload(jpeg, "image/jpeg")
    assert f"s3://{BUCKET}/x/" in failure.value.message and "AWS_ENDPOINT_URL" in failure.value.message
    assert SECRET not in str(failure.value) and "AKIA" not in str(failure.value)


@pytest.mark.anyio
async def test_a_missing_bucket_is_permanent(s3, jpeg):
    """s3://no-such-bucket: a Permanent failure saying to create the bucket or fix the address."""
    with pytest.raises(Permanent) as failure:
        await S3PhotoHost("s3://no-such-bucket-here").upload(jpeg, "image/jpeg")
    assert "no-such-bucket-here" in failure.value.message


@pytest.mark.parametrize("url, words", [
    ("s3://", "write s3://BUCKET"),
    ("https://bucket/x", "not an s3:// address"),
    ("s3://Bad_Bucket!/x", "is not a bucket name"),
    ("s3://key:secret@bucket/x", "credentials and options come from the AWS_* environment"),
    ("s3://bucket/x?region=eu", "credentials and options come from the AWS_* environment"),
])
def test_bad_s3_addresses_are_config_errors(s3, url, words):
    """Malformed s3:// addresses are one-line ConfigErrors that say how to write them (no secret echoed)."""
    with pytest.raises(ConfigError, match=None) as raised:
        S3PhotoHost(url)
    assert words in str(raised.value) and "secret" not in str(raised.value).replace("credentials", "")


def test_bad_base_url_and_expiry_are_config_errors(s3):
    """A base URL that is not http(s), and an expiry beyond SigV4's 7 days, are refused."""
    with pytest.raises(ConfigError, match="https address"):
        S3PhotoHost(f"s3://{BUCKET}", base_url="cdn.example.com/x")
    with pytest.raises(ConfigError, match="7 days"):
        S3PhotoHost(f"s3://{BUCKET}", expires=timedelta(days=8))


def test_without_the_extra_the_error_says_how_to_install_it(monkeypatch):
    """obstore not importable: one ConfigError line with pip install 'cardkit[s3]'."""
    monkeypatch.setitem(sys.modules, "obstore", None)   # what an environment without the extra looks like
    with pytest.raises(ConfigError) as raised:
        resolve_photo_host("s3://bucket/prefix")
    assert "pip install 'cardkit[s3]'" in str(raised.value) and "\n" not in str(raised.value)


def test_spec_strings_resolve_to_the_right_host(s3):
    """s3:// → S3PhotoHost (with its base URL); http(s) → the sandbox media host; objects pass through."""
    host = resolve_photo_host(f"s3://{BUCKET}/p", base_url="https://cdn.example.com/p/")
    assert isinstance(host, S3PhotoHost) and host.base_url == "https://cdn.example.com/p/"
    media = resolve_photo_host("http://127.0.0.1:8787/_sandbox/media")
    assert isinstance(media, SandboxPhotoHost) and resolve_photo_host(media) is media
    with pytest.raises(ConfigError, match="goes with an s3:// photo host"):
        resolve_photo_host("http://127.0.0.1:8787/_sandbox/media", base_url="https://cdn.example.com/")
    with pytest.raises(ConfigError, match="is not one cardkit knows"):
        resolve_photo_host("ftp://photos")
    with pytest.raises(ConfigError, match="upload"):
        resolve_photo_host(42)


# -- end to end: a sheet, the S3 host, the sandbox's emulators fetching from the S3 server ----------

def sheet(tmp_path: Path) -> pd.DataFrame:
    # photos must sit in the sheet's folder (a sheet may not reach files outside it)
    photos = tmp_path / "photos"
    shutil.copytree(REPO / "cardkit" / "sample" / "photos", photos, dirs_exist_ok=True)
    rows = [{"Phone": SENDBLUE, "First Name": "Ana", "Last Name": "Ruiz", "Photo": str(photos / "ana.jpg"),
             "Provider": "sendblue"},
            {"Phone": LINQ, "First Name": "Ben", "Last Name": "Okafor", "Photo": str(photos / "ben.png"),
             "Provider": "linq"},
            {"Phone": "+15125550110", "First Name": "Ana", "Last Name": "Two", "Photo": str(photos / "ana.jpg"),
             "Provider": "sendblue"}]
    path = tmp_path / "cards.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return cardkit.validate(cardkit.read_cards(path))


@pytest.mark.parametrize("base_url", [False, True], ids=["presigned", "base-url"])
def test_apply_with_the_s3_host_lands_the_photos_the_emulators_downloaded(s3, s3_server, tmp_path, base_url):
    """apply(photo_host="s3://…") at Sendblue and Linq: each card's photo digest is the object the
    emulator downloaded from the S3 server; a second run uploads nothing."""
    box = Sandbox()
    options = {"photo_base_url": f"{s3_server.endpoint}/{BUCKET}/run/"} if base_url else {}
    if base_url:
        make_public(s3)
    with retry_policy.testing():
        results = cardkit.apply(sheet(tmp_path), sandbox=box, photo_host=f"s3://{BUCKET}/run", journal=False,
                                progress=False, **options)
    assert list(results["status"]) == ["applied"] * 3, results[["status", "message"]].to_string()
    objects = keys(s3)
    assert len(objects) == 2 and s3_server.count("PUT", f"/{BUCKET}/run/") == 2           # ana.jpg once for two rows, ben.png
    state = box.state()
    downloaded = {d["sha256"] for d in state["media"]["downloads"]}
    stored = {f"run/{digest}.jpg" for digest in downloaded}
    assert stored == set(objects)                                       # what moto served is what was uploaded
    sendblue, linq = state["sendblue"]["cards"], state["linq"]["cards"]
    assert f"run/{sendblue[SENDBLUE]['photo']['sha256']}.jpg" in objects
    assert f"run/{linq[LINQ]['image']['sha256']}.jpg" in objects
    assert all(d["url"].startswith(s3_server.endpoint) for d in state["media"]["downloads"])
    signed = [url for url in (sendblue[SENDBLUE]["photoUrl"], linq[LINQ]["image_url"]) if "X-Amz-Signature" in url]
    assert len(signed) == (0 if base_url else 2)
    box.reset()
    with retry_policy.testing():
        again = cardkit.apply(sheet(tmp_path), sandbox=box, photo_host=f"s3://{BUCKET}/run", journal=False,
                              progress=False, **options)
    assert set(again["status"]) == {"applied"} and s3_server.count("PUT", f"/{BUCKET}/run/") == 2   # looked (HEAD), never re-put


def test_a_photo_the_store_cannot_serve_fails_the_row_as_the_provider_would(s3, s3_server, tmp_path, monkeypatch):
    """A base URL that does not serve the objects: Sendblue answers 500 and Linq 5007, the rows fail with that reason."""
    box = Sandbox()
    with retry_policy.testing():
        results = cardkit.apply(sheet(tmp_path), sandbox=box, photo_host=f"s3://{BUCKET}/run", journal=False,
                                progress=False, photo_base_url=f"{s3_server.endpoint}/{BUCKET}/elsewhere/",
                                max_attempts=1)
    assert set(results["status"]) == {"failed"}, results[["status", "message"]].to_string()
    assert box.state()["sendblue"]["cards"] == {} and box.state()["linq"]["cards"] == {}
    assert all("error" in d for d in box.state()["media"]["downloads"])


def test_cli_apply_takes_photo_host_and_base_url(s3, s3_server, tmp_path):
    """cardkit apply --sandbox --photo-host s3://… --photo-base-url …: rows applied, objects in the bucket."""
    sheet(tmp_path)
    make_public(s3)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "cardkit", "apply", str(tmp_path / "cards.csv"), "--sandbox",
                           "--photo-host", f"s3://{BUCKET}/cli", "--photo-base-url",
                           f"{s3_server.endpoint}/{BUCKET}/cli/", "--json", "--no-journal"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert {r["status"] for r in json.loads(done.stdout)["results"]} == {"applied"}
    assert len([k for k in keys(s3) if k.startswith("cli/")]) == 2 and SECRET not in done.stdout + done.stderr


def test_cli_photo_base_url_without_s3_host_is_one_line_exit_2(tmp_path):
    """--photo-base-url with a sandbox media host: exit 2 and a one-line error naming s3://."""
    sheet(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-m", "cardkit", "apply", str(tmp_path / "cards.csv"), "--sandbox",
                           "--photo-host", "http://127.0.0.1:9/_sandbox/media", "--photo-base-url",
                           "https://cdn.example.com/x/", "--no-journal"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 2 and "s3://" in done.stderr and "Traceback" not in done.stderr


def test_a_presigned_rerun_at_linq_is_unchanged_not_rewritten(s3, tmp_path):
    """Re-signed URLs differ in their query only: the second run finds Linq's card unchanged (its
    3-writes-per-10-minutes budget is not spent on the same photo again)."""
    box = Sandbox()
    with retry_policy.testing():
        first = cardkit.apply(sheet(tmp_path), sandbox=box, photo_host=f"s3://{BUCKET}/run", journal=False,
                              progress=False)
        second = cardkit.apply(sheet(tmp_path), sandbox=box, photo_host=f"s3://{BUCKET}/run", journal=False,
                               progress=False)
    linq_row = second["provider"] == "linq"
    assert set(first["status"]) == {"applied"}
    assert list(second.loc[linq_row, "action"]) == ["unchanged"], second[["action", "message"]].to_string()
    assert box.state()["linq"]["writes_by_number"] == {LINQ: 1}


def test_without_signature_drops_only_signing_parameters():
    """SigV4, GCS and Azure SAS parameters go; the path and other parameters stay."""
    signed = ("https://b.s3.amazonaws.com/p/ab.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261201T000000Z"
              "&X-Amz-Signature=f00&versionId=3")
    assert without_signature(signed) == "https://b.s3.amazonaws.com/p/ab.jpg?versionId=3"
    assert without_signature("https://a.blob.core.windows.net/c/x.jpg?sv=2024&se=2026&sig=abc") == \
        "https://a.blob.core.windows.net/c/x.jpg"
    assert without_signature("https://cdn.example.com/x.jpg?w=512") == "https://cdn.example.com/x.jpg?w=512"
    assert without_signature("https://cdn.example.com/x.jpg") == "https://cdn.example.com/x.jpg"


def test_no_credential_or_signature_in_results_journal_or_report(s3, tmp_path):
    """A presigned run: the results, the journal file and a JSON report hold no key, secret or signature."""
    journal = tmp_path / "run.journal.sqlite"
    with retry_policy.testing():
        results = cardkit.apply(sheet(tmp_path), sandbox=Sandbox(), photo_host=f"s3://{BUCKET}/run", journal=journal,
                                progress=False)
    assert set(results["status"]) == {"applied"}
    cardkit.report(results).to_file(tmp_path / "report.json")
    for blob in (results.to_json().encode(), journal.read_bytes(), (tmp_path / "report.json").read_bytes()):
        for secret in (SECRET.encode(), b"AKIATESTCARDKIT", b"X-Amz-Signature"):
            assert secret not in blob

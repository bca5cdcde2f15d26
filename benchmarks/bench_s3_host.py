"""What the S3 photo host costs, and what a real photo download costs the sandbox.

    python benchmarks/bench_s3_host.py [--photos 100] [--rounds 3]

Against moto's S3 server on loopback (the same server the tests use), side by side in one run:

- first run: `S3PhotoHost.upload` of N distinct prepared photos (HEAD, PUT, presign each);
- re-run: a new host (a new process would be the same) uploading the same N photos — HEAD and
  presign only, no PUT;
- base-URL re-run: HEAD only, no signing.

And the sandbox: N Sendblue profile POSTs in process whose photoUrl is (a) a placeholder host (no
download) and (b) a presigned URL on the loopback S3 server (a real download per request).
Medians over `--rounds`; the machine is shared, so read the ratios, and note `uptime`.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import boto3  # noqa: E402
import httpx  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from PIL import Image  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from cardkit.providers.s3_host import S3PhotoHost  # noqa: E402
from cardkit.sandbox import Sandbox  # noqa: E402


class Quiet(MotoRequestHandler):
    def log_request(self, *args, **kwargs) -> None:
        pass


def photos(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        buf = io.BytesIO()
        Image.new("RGB", (512, 512), (i % 256, (i * 7) % 256, (i * 13) % 256)).save(buf, format="JPEG", quality=85)
        out.append(buf.getvalue())
    return out


async def upload_all(host: S3PhotoHost, data: list[bytes]) -> list[str]:
    return await asyncio.gather(*(host.upload(d, "image/jpeg") for d in data))


async def sendblue_posts(box: Sandbox, urls: list[str]) -> None:
    creds = box.credentials["sendblue"]
    headers = {"sb-api-key-id": creds["key_id"], "sb-api-secret-key": creds["secret"]}
    async with httpx.AsyncClient(transport=box.transport(), base_url="http://sandbox.local") as client:
        for url in urls:
            answer = await client.post("/sendblue/api/v2/contact-sharing/profile", headers=headers, json={
                "fromNumber": "+13125550182", "firstName": "A", "lastName": "B", "photoUrl": url})
            assert answer.status_code == 200, answer.text


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def one_round(bucket: str, data: list[bytes]) -> dict[str, float]:
    """One round's seconds per figure (a fresh bucket: the first run really uploads)."""
    out = {"first run": timed(lambda: asyncio.run(upload_all(S3PhotoHost(f"s3://{bucket}/p"), data)))}
    urls: list[str] = []
    out["re-run (presigned)"] = timed(lambda: urls.extend(asyncio.run(upload_all(S3PhotoHost(f"s3://{bucket}/p"), data))))
    out["re-run (base URL)"] = timed(lambda: asyncio.run(upload_all(
        S3PhotoHost(f"s3://{bucket}/p", base_url="https://cdn.example.com/p/"), data)))
    placeholder = ["https://example.com/a.jpg"] * len(urls)
    out["sandbox POST, placeholder photo"] = timed(lambda: asyncio.run(sendblue_posts(Sandbox(), placeholder)))
    out["sandbox POST, real download"] = timed(lambda: asyncio.run(sendblue_posts(Sandbox(), urls)))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True,
                         request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                      AWS_REGION="us-east-1")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    data = photos(args.photos)
    figures: dict[str, list[float]] = {"first run": [], "re-run (presigned)": [], "re-run (base URL)": [],
                                       "sandbox POST, placeholder photo": [], "sandbox POST, real download": []}
    for round_ in range(args.rounds):
        bucket = f"bench-{round_}"
        s3.create_bucket(Bucket=bucket)
        for name, value in one_round(bucket, data).items():
            figures[name].append(value)
    print(f"{args.photos} photos of ~{statistics.mean(map(len, data)) / 1024:.0f} KiB, medians of {args.rounds} rounds, "
          f"load: {os.getloadavg()[0]:.1f}")
    for name, values in figures.items():
        median = statistics.median(values)
        print(f"{name:34s} {median:7.2f} s  ({median / args.photos * 1000:6.1f} ms per photo)")
    server.shutdown()


if __name__ == "__main__":
    main()

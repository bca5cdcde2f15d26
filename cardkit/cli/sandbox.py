"""`cardkit sandbox serve`: the provider sandbox as a real HTTP server on loopback."""

from __future__ import annotations

import argparse
import signal
import sys

from cardkit.cli._common import add_command, add_output_options, print_json
from cardkit.errors import ConfigError


def register(sub) -> None:
    parser = add_command(sub, "sandbox", help="run the provider sandbox (Blooio, Sendblue, Linq emulators)",
                         example="cardkit sandbox serve --port 8787 --latency-ms 50 --fault-rate 0.05")
    actions = parser.add_subparsers(dest="sandbox_command", metavar="ACTION")
    serve = add_command(
        actions, "serve", help="serve the sandbox on loopback until Ctrl-C",
        example="cardkit sandbox serve --port 8787 --seed my_seed.json --fault-rate 0.05 --fault-seed 7",
        description="Serve the three provider emulators on loopback. Prints the base URLs and the "
                    "credentials it accepts (sandbox test keys), as environment variables the vendors' "
                    "SDKs read. Stops cleanly on Ctrl-C or SIGTERM.")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 picks a free one)")
    serve.add_argument("--seed", metavar="FILE.json|NAME", help="seed file: credentials and numbers per provider, "
                       "or a packaged seed: default (owns the sample sheet's numbers) or accounts (the same "
                       "numbers across two Blooio and two Linq accounts)")
    serve.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request (default 0)")
    serve.add_argument("--jitter-ms", type=float, default=None, help="random extra latency, up to (default latency/5)")
    serve.add_argument("--fault-rate", type=float, default=0.0, help="share of requests that fail (0–1, default 0)")
    serve.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws (default 0)")
    serve.add_argument("--fault-mix", metavar="KIND=W,…", type=_fault_mix, default=None,
                       help="weights of the fault kinds error, hang, drop (default error=0.7,hang=0.15,drop=0.15)")
    serve.add_argument("--hang-seconds", type=float, default=300.0,
                       help="how long a hung response waits for the client to give up (default 300)")
    serve.add_argument("--blooio-card-read", choices=("working", "coming_soon"), default="working",
                       help="Blooio GET contact-card: documented behaviour or the SDK's 'coming soon' 404")
    serve.add_argument("--linq-failed-setup", choices=("error", "inactive"), default="error",
                       help="Linq failed POST: 500/2022 (as the SDK says) or 200 with is_active false (as the docs page says)")
    serve.add_argument("--linq-4004", choices=("holds", "once"), default="holds",
                       help="after Linq's 503/4004 the number's writes meet 4004 for 30 s, each attempt extending it "
                            "(holds, as Linq documents), or only the drawn fault (once)")
    serve.add_argument("--blooio-avatar", choices=("as_sent", "reencoded"), default="as_sent",
                       help="Blooio GET contact-card avatar: the bytes sent, or re-encoded (another digest)")
    serve.add_argument("--blooio-idempotency", choices=("conflict", "replay"), default="conflict",
                       help="Blooio message send with a reused Idempotency-Key: 409 (as documented) or the "
                            "first answer again")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    add_output_options(serve)   # --json: the base URLs and keys as one JSON document; --quiet: nothing
    serve.set_defaults(func=run_serve)
    parser.set_defaults(func=lambda args: _usage(parser))


def _fault_mix(text: str) -> dict[str, float]:
    """`error=0.5,drop=0.5` → {"error": 0.5, "drop": 0.5}."""
    mix = {}
    for part in text.split(","):
        kind, _, weight = part.partition("=")
        try:
            mix[kind.strip()] = float(weight)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{part!r} is not KIND=WEIGHT, e.g. error=0.5,hang=0.25,drop=0.25") from None
    return mix


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def banner(sandbox, origin: str) -> str:
    """What `serve` prints: where each provider is and the credentials it accepts."""
    from cardkit.providers.registry import ADAPTERS

    urls = sandbox.base_urls(origin)
    creds = sandbox.credentials
    lines = [f"cardkit sandbox on {origin}   (Ctrl-C to stop)", ""]
    for name, cls in ADAPTERS.items():
        if name in creds:
            lines.append(f"{cls.env.base_url}={urls[name]}")
            lines += [f"{variable}={creds[name][cls.sandbox_credentials[argument]]}"
                      for argument, variable in cls.env.secrets]
    extra = []
    for name in ADAPTERS:
        more = list(getattr(sandbox.seed, name).credentials.items())[1:]
        if more:
            shown = [f"{key} / {secret}" if secret else key for key, secret in more]
            extra.append(f"{name} also accepts: {', '.join(shown)}")
    if extra:
        lines += [""] + extra
    lines += ["", f"media: POST image bytes to {urls['media']}", f"state: GET {origin}/_sandbox/state"]
    return "\n".join(lines)


def served(sandbox, origin: str) -> dict:
    """What `serve --json` prints: the origin, each provider's base URL and the environment
    variables (with the sandbox's test keys) the vendors' SDKs read, the media and state URLs."""
    from cardkit.providers.registry import ADAPTERS

    urls, creds = sandbox.base_urls(origin), sandbox.credentials
    environment = {}
    for name, cls in ADAPTERS.items():
        if name in creds:
            environment[cls.env.base_url] = urls[name]
            environment.update({variable: creds[name][cls.sandbox_credentials[argument]]
                                for argument, variable in cls.env.secrets})
    return {"origin": origin, "base_urls": {n: urls[n] for n in ADAPTERS if n in urls},
            "environment": environment, "media": urls["media"], "state": f"{origin}/_sandbox/state"}


def run_serve(args) -> int:
    from cardkit.sandbox import Sandbox, SeedError
    from cardkit.sandbox.server import bind, origin_of, serve_forever

    try:
        sandbox = Sandbox(args.seed, latency_ms=args.latency_ms, fault_rate=args.fault_rate,
                          fault_seed=args.fault_seed, jitter_ms=args.jitter_ms, fault_mix=args.fault_mix,
                          hang_seconds=args.hang_seconds,
                          blooio_card_read=args.blooio_card_read, linq_failed_setup=args.linq_failed_setup,
                          linq_4004=args.linq_4004,
                          blooio_avatar=args.blooio_avatar, blooio_idempotency=args.blooio_idempotency)
    except SeedError as exc:
        raise ConfigError(f"{exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{exc} — check --latency-ms/--jitter-ms/--fault-rate/--fault-mix") from None
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {args.host}:{args.port} ({exc.strerror or exc}) — "
                          "pick another with --port (0 picks a free one)") from None
    origin = origin_of(sock)

    def ready() -> None:
        if args.json:
            print_json(served(sandbox, origin))
            sys.stdout.flush()
        elif not args.quiet:
            print(banner(sandbox, origin), flush=True)

    # uvicorn shuts down gracefully on SIGINT/SIGTERM, then re-raises the signal to the handler it
    # found: make that handler for SIGTERM end here too, as Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        serve_forever(sandbox, sock, on_ready=ready, access_log=args.access_log)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sock.close()
    if not (args.quiet or args.json):
        print("cardkit sandbox: stopped", flush=True)
    return 0


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt

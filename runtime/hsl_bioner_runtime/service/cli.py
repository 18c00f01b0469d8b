"""`bioner-serve DIR`: the tagging service and page of an exported folder on uvicorn (the API:
`hsl_bioner_runtime.service`)."""
import argparse
import sys
from typing import List, Optional

from hsl_bioner_runtime.entities import MERGE_RULES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bioner-serve",
        description="Serve an exported hsl-bioner folder: POST /tag, GET /health, GET /model "
        "and a tagging page at /.",
    )
    parser.add_argument("folder", help="the exported folder (allennlp bioner-export)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--threads", type=int, default=None, help="ONNX Runtime threads (default: its own choice)"
    )
    parser.add_argument(
        "--batch-size", type=int, default=32, help="sentences per encoder batch (default 32)"
    )
    parser.add_argument(
        "--max-batch",
        type=int,
        default=64,
        help="most documents tagged together, across requests (default 64)",
    )
    parser.add_argument(
        "--max-wait-ms",
        type=float,
        default=5.0,
        help="most milliseconds to wait for more requests to join a batch (default 5)",
    )
    parser.add_argument(
        "--queue-size",
        type=int,
        default=256,
        help="most requests waiting; more get 503 with Retry-After (default 256)",
    )
    parser.add_argument(
        "--max-body-bytes",
        type=int,
        default=10_000_000,
        help="largest request body; larger ones get 413 (default 10000000)",
    )
    parser.add_argument(
        "--merge",
        choices=MERGE_RULES,
        default="type",
        help="merge rule of requests that give none (default type)",
    )
    parser.add_argument(
        "--log-level", default="info", help="uvicorn's log level (default info)"
    )
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        import uvicorn

        from hsl_bioner_runtime.service.app import create_app
    except ImportError as error:
        print(
            f"bioner-serve: {error}; install the service's extra: "
            "pip install 'hsl-bioner-runtime[serve]'",
            file=sys.stderr,
        )
        return 2
    from hsl_bioner_runtime.tagger import Tagger

    try:
        tagger = Tagger.load(
            args.folder, threads=args.threads, batch_size=args.batch_size, merge="none"
        )
        app = create_app(
            tagger,
            max_batch=args.max_batch,
            max_wait=args.max_wait_ms / 1000,
            queue_size=args.queue_size,
            max_body_bytes=args.max_body_bytes,
            merge=args.merge,
        )
    except (OSError, ValueError) as error:
        print(f"bioner-serve: {error}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What every operator tool needs around AWS: the S3 client, the ``--bucket`` check, one-line
errors and the exit statuses (0 done, 1 AWS error or unknown host, 2 usage, 130 interrupted)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime

from pulse_echo import aws, layout
from pulse_echo.text import one_line
from pulse_echo.times import TimeRangeError, parse_isoformat


class CliError(Exception):
    """An error to print as one line (``<prog>: <message>``); ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def tool_parser(prog: str, description: str, epilog: str) -> argparse.ArgumentParser:
    """The tool's argument parser, with ``--bucket NAME`` (required) as its first option."""
    parser = argparse.ArgumentParser(prog=prog, description=description, epilog=epilog)
    parser.add_argument("--bucket", required=True, metavar="NAME", help="the pulse-echo bucket")
    return parser


def add_region_and_now_arguments(parser: argparse.ArgumentParser) -> None:
    """``--region``, and the hidden ``--now`` (ISO 8601: the current time, for reproducible examples)."""
    parser.add_argument("--region", metavar="R", help="AWS region of the bucket (default: $AWS_REGION)")
    parser.add_argument("--now", type=iso_time, help=argparse.SUPPRESS)


def iso_time(text: str) -> datetime:
    """argparse type: an ISO 8601 time with a UTC offset."""
    try:
        return parse_isoformat(text)
    except TimeRangeError:
        raise argparse.ArgumentTypeError(f"{text!r} is out of range once converted to UTC") from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time with a UTC offset") from None


def s3_client(region: str | None) -> object:
    """An S3 client with bounded retries and timeouts; ``region`` or $AWS_REGION."""
    import boto3
    from botocore.config import Config

    region = region or os.environ.get("AWS_REGION") or None  # botocore reads only AWS_DEFAULT_REGION
    config = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=10, read_timeout=30)
    return boto3.session.Session().client("s3", region_name=region, config=config)


def check_bucket(s3: object, bucket: str) -> None:
    """HeadBucket: a wrong bucket otherwise looks like an unknown host (HEAD has no error body)."""
    try:
        s3.head_bucket(Bucket=bucket)  # type: ignore[attr-defined]
    except Exception as exc:
        if aws.is_no_such_bucket(exc):
            raise CliError(_no_such_bucket(bucket)) from None
        raise


def explain_aws_error(exc: Exception, bucket: str, permissions: str) -> str:
    """One line for an AWS error, naming the bucket and what to check (``permissions``: the S3
    actions the tool needs, for an access denied)."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    if isinstance(exc, NoCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
            "or run where an instance role applies"
        )
    if isinstance(exc, ProfileNotFound):
        return f"AWS profile not found: {exc}"
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach S3: {exc}"
    if not isinstance(exc, ClientError):
        return f"AWS error: {exc}"
    code, status = aws.error_code(exc), aws.http_status(exc)
    message = str(getattr(exc, "response", {}).get("Error", {}).get("Message", ""))
    if code in ("NoSuchBucket", "404") or (code == "" and status == 404):
        return _no_such_bucket(bucket)
    if code in ("AccessDenied", "403", "AllAccessDisabled") or status == 403:
        return f"access denied to s3://{bucket} ({code or status}): the credentials need {permissions} on it"
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken"):
        return f"the AWS credentials were refused ({code}): {message}".rstrip(": ")
    return f"S3 error on s3://{bucket}: {code or status}: {message}".rstrip(": ")


def bucket_problem(bucket: str) -> str | None:
    """Why ``--bucket``'s value is not a bucket name, in one line, or None when it is one.

    The module's buckets follow S3's naming rules (pulse_echo.layout); anything else would
    reach botocore, which answers with its validation regex. An ``s3://`` URL gets the
    words send-pulse uses, and the name to pass instead.
    """
    if bucket[:5].lower() == "s3://":
        name = bucket[5:].split("/", 1)[0]
        return f"--bucket takes the bucket name, not an s3:// URL (--bucket {name})"
    if not layout.is_valid_bucket_name(bucket):
        return (
            f"--bucket {bucket!r} is not an S3 bucket name (3-63 lowercase letters, digits, dots and hyphens)"
        )
    return None


def run_tool(prog: str, permissions: str, args: argparse.Namespace, body: Callable[[], None]) -> int:
    """Run ``body`` and return the exit status: 0, or 1/2 after one line on stderr for a CliError
    (its status), a ``--bucket`` that is not a bucket name (2), an AWS error, or boto3 missing."""
    problem = bucket_problem(args.bucket)
    if problem is not None:
        print(f"{prog}: {one_line(problem, limit=300)}", file=sys.stderr)
        return 2
    try:
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        print(f"{prog}: boto3 is not installed (pip install boto3)", file=sys.stderr)
        return 1
    try:
        body()
    except CliError as exc:
        print(f"{prog}: {one_line(str(exc), limit=600)}", file=sys.stderr)
        return exc.status
    except (BotoCoreError, ClientError) as exc:
        print(
            f"{prog}: {one_line(explain_aws_error(exc, args.bucket, permissions), limit=500)}",
            file=sys.stderr,
        )
        return 1
    return 0


def _no_such_bucket(bucket: str) -> str:
    return f"bucket {bucket!r} does not exist (NoSuchBucket): check --bucket and the account"


def run_bucket_command(
    prog: str,
    permissions: str,
    parse: Callable[[Sequence[str] | None], argparse.Namespace],
    act: Callable[[argparse.Namespace, object], None],
    argv: Sequence[str] | None,
) -> int:
    """A tool's main: ``parse`` the command line (argparse exits 2 on a usage error), make an S3
    client for ``--region``, check ``--bucket`` exists, then ``act(args, s3)``; the exit status
    is run_tool's, or 130 when interrupted."""
    try:
        args = parse(argv)

        def body() -> None:
            s3 = s3_client(args.region)
            check_bucket(s3, args.bucket)
            act(args, s3)

        return run_tool(prog, permissions, args, body)
    except KeyboardInterrupt:
        return 130

"""boto3 clients configured the way the AWS CLI configures itself, and AWS errors as vpcflow errors.

    settings = AwsSettings(profile="prod", region="eu-west-1")   # --profile, --region, --endpoint-url
    s3 = settings.client("s3")

Credentials, profile, region and endpoint come from boto3's own resolution, which is the AWS CLI's:
`--profile` or AWS_PROFILE, the environment (AWS_ACCESS_KEY_ID, ...; the Region from AWS_REGION, then
AWS_DEFAULT_REGION, then the profile), ~/.aws/config and credentials,
SSO, web identity, container and instance roles; AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>)
or `endpoint_url` in the profile. vpcflow never reads, copies or prints a credential: messages are
built from error codes, and `redact` strips the resolved credentials from any text as a second guard.

Retries: the profile's or environment's `retry_mode` / `max_attempts` when set; otherwise the AWS
CLI v2 default mode, `standard` (exponential back-off with jitter on throttling and 5xx errors), with
10 attempts instead of 3 (our choice: an ingest makes thousands of calls, and a throttled call that
gives up costs a whole transaction).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

from vpcflow.errors import InputError

DEFAULT_MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class AwsSettings:
    """What the user said about where AWS is; None leaves it to boto3 (as the AWS CLI does)."""

    profile: str | None = None
    region: str | None = None
    endpoint_url: str | None = None

    @cached_property
    def session(self):
        import boto3
        import botocore.exceptions

        try:
            # AWS_REGION comes before AWS_DEFAULT_REGION and the profile's region in the AWS CLI v2
            # and the SDKs' shared settings; this botocore reads only the latter two itself.
            region = self.region or os.environ.get("AWS_REGION") or None
            session = boto3.Session(profile_name=self.profile, region_name=region)
        except botocore.exceptions.ProfileNotFound:
            raise InputError(
                f"no AWS profile named {self.profile!r} in the AWS config or credentials files; "
                "`aws configure list-profiles` lists them",
                source="--profile",
            ) from None
        return session

    def client(self, service: str, *, connections: int = 10):
        """A client for `service` with the CLI's resolution and our retry defaults."""
        from botocore.config import Config

        session = self.session
        scoped = session._session.get_scoped_config()  # the profile's settings, as the CLI reads them
        mode = os.environ.get("AWS_RETRY_MODE") or scoped.get("retry_mode") or "standard"
        attempts = os.environ.get("AWS_MAX_ATTEMPTS") or scoped.get("max_attempts") or DEFAULT_MAX_ATTEMPTS
        config = Config(
            retries={"mode": mode, "total_max_attempts": int(attempts)},
            max_pool_connections=max(10, connections),
            user_agent_extra="vpcflow",
        )
        region = session.region_name
        if region is None and service != "s3":
            raise InputError(
                f"no AWS Region for {service}: pass --region, set AWS_REGION, or set region in the profile",
                source="--region",
            )
        return session.client(service, region_name=region, endpoint_url=self.endpoint_url, config=config)

    @property
    def region_name(self) -> str | None:
        return self.session.region_name

    def redact(self, text: str) -> str:
        """The text with the resolved credentials (if any) cut out."""
        try:
            creds = self.session.get_credentials()
        except Exception:  # noqa: BLE001 - a broken credential chain has nothing to redact
            creds = None
        secrets = []
        if creds is not None:
            frozen = creds.get_frozen_credentials()
            secrets = [frozen.access_key, frozen.secret_key, frozen.token]
        for secret in secrets:
            if secret and len(secret) >= 4:
                text = text.replace(secret, "***")
        return text


def error_code(exc: BaseException) -> str | None:
    """An AWS error's code (`NoSuchKey`, `ThrottlingException`, ...), None for other errors."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code") or str(
            response.get("ResponseMetadata", {}).get("HTTPStatusCode", "")
        )
    return None


def describe_error(exc: BaseException) -> str:
    """A one-line account of an AWS call that failed, from its code and message (never its request)."""
    import botocore.exceptions

    code = error_code(exc)
    if code is not None:
        message = getattr(exc, "response", {}).get("Error", {}).get("Message") or ""
        return f"{code}: {message}".rstrip(": ")
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return "no AWS credentials found (set AWS_PROFILE or pass --profile, or configure the AWS CLI)"
    if isinstance(exc, botocore.exceptions.EndpointConnectionError):
        return f"cannot reach the AWS endpoint ({exc.kwargs.get('endpoint_url', '?')})"
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return type(exc).__name__ + ": " + str(exc)
    return f"{type(exc).__name__}: {exc}"


def aws_errors():
    """The exceptions an AWS call can raise (for `except aws_errors():`)."""
    import botocore.exceptions

    return (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)

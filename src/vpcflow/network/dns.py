"""Name resolution as an instance in a VPC sees it through the Amazon DNS server (spec vpc.md §4, §3.3).

- `enableDnsSupport` false: the Amazon DNS server does not answer; nothing resolves.
- Interface endpoint private DNS answers `<service>.<region>.amazonaws.com` (for S3 also
  `*.s3.<region>.amazonaws.com`) with the endpoint ENIs' private addresses only when the endpoint
  has private DNS on AND the VPC has both `enableDnsSupport` and `enableDnsHostnames`.
- Otherwise AWS service names answer with the service's public addresses in the named Region;
  `s3.amazonaws.com` and `<bucket>.s3.amazonaws.com` are the legacy global endpoint, us-east-1.
- `service:<name>` is what the AWS CLI would call: `<name>.<region>.amazonaws.com` with the Region
  given, us-east-1 when none is (the CLI's and SDKs' behaviour without a configured Region is
  spec vpc.md §3.5; **Choice:** us-east-1 as the issue asks).
- `ec2-a-b-c-d.<region>.compute.amazonaws.com` answers the private address from inside the VPC
  (split horizon) when both DNS attributes are on, the public one otherwise;
  `ip-a-b-c-d.<region>.compute.internal` answers only with both attributes on.
- Any other name is an internet host. **Choice:** it resolves to a stable address in 203.0.113.0/24
  (TEST-NET-3, the range AWS's own examples use for internet hosts): 203.0.113.(crc32(name) % 254 + 1).
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, ip_address

from vpcflow.network.model import AwsService, NetworkInterface, Vpc, VpcEndpoint
from vpcflow.network.store import Model

Address = IPv4Address | IPv6Address
DEFAULT_CLI_REGION = "us-east-1"
INTERNET_BASE = IPv4Address("203.0.113.0")

_REGION = r"[a-z]{2}(?:-gov)?-[a-z]+-\d"
_S3 = re.compile(rf"^(?:(?P<bucket>.+)\.)?s3(?:[.-](?:dualstack\.)?(?P<region>{_REGION}))?\.amazonaws\.com$")
_REGIONAL = re.compile(rf"^(?P<service>[a-z0-9.-]+?)\.(?P<region>{_REGION})\.amazonaws\.com$")
_VPCE = re.compile(
    rf"^(?:\*\.)?(?P<id>vpce-[0-9a-z]+)(?:-[0-9a-z]+)*\.(?P<service>[a-z0-9.-]+)\.(?P<region>{_REGION})\.vpce\.amazonaws\.com$"
)
_EC2_PUBLIC = re.compile(r"^ec2-(?P<ip>\d+-\d+-\d+-\d+)\.(?:[a-z0-9-]+\.compute|compute-1)\.amazonaws\.com$")
_EC2_PRIVATE = re.compile(r"^ip-(?P<ip>\d+-\d+-\d+-\d+)\.(?:[a-z0-9-]+\.compute\.internal|ec2\.internal)$")


@dataclass(frozen=True)
class Resolution:
    """The answer for one name, and where it came from."""

    name: str
    addresses: tuple[Address, ...]
    source: str  # literal | private-dns | aws-public | ec2-hostname | endpoint-dns | internet | unresolved
    detail: str
    service: AwsService | None = None
    endpoint: VpcEndpoint | None = None
    bucket: str | None = None
    warnings: tuple[str, ...] = ()  # e.g. private DNS on but a DNS attribute off

    @property
    def address(self) -> Address | None:
        return self.addresses[0] if self.addresses else None

    @property
    def resolved(self) -> bool:
        return bool(self.addresses)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "addresses": [str(a) for a in self.addresses],
            "source": self.source,
            "detail": self.detail,
            "service": f"{self.service.service}@{self.service.region}" if self.service else None,
            "endpoint": self.endpoint.id if self.endpoint else None,
            "warnings": list(self.warnings),
        }


def cli_hostname(service: str, region: str | None) -> str:
    """The endpoint the AWS CLI calls for `service` in `region` (us-east-1 without one)."""
    return f"{service}.{region or DEFAULT_CLI_REGION}.amazonaws.com"


def internet_address(name: str) -> IPv4Address:
    return INTERNET_BASE + (zlib.crc32(name.encode()) % 254 + 1)


def _pick(name: str, service: AwsService) -> Address:
    cidr = service.public_cidrs[0]
    span = max(cidr.num_addresses - 2, 1)
    return cidr.network_address + 1 + zlib.crc32(name.encode()) % span


def resolve(
    model: Model, vpc: Vpc, name: str, *, region: str | None = None, client_az: str | None = None
) -> Resolution:
    """Resolve `name` (or `service:<name>` with `region`) from inside `vpc`."""
    name = name.strip().rstrip(".").lower()
    try:
        return Resolution(name, (ip_address(name),), "literal", "an address, no lookup")
    except ValueError:
        pass
    if name.startswith("service:"):
        service = name.split(":", 1)[1]
        host = cli_hostname(service, region)
        inner = resolve(model, vpc, host, client_az=client_az)
        why = f"the AWS CLI calls {host} ({'--region ' + region if region else 'no Region given: ' + DEFAULT_CLI_REGION})"
        return Resolution(
            name,
            inner.addresses,
            inner.source,
            f"{why}; {inner.detail}",
            inner.service,
            inner.endpoint,
            inner.bucket,
            inner.warnings,
        )
    if not vpc.enable_dns_support:
        return Resolution(
            name,
            (),
            "unresolved",
            f"{vpc.id} has enableDnsSupport=false: the Amazon DNS server ({vpc.dns_resolver_ip}) does not answer",
        )
    both = vpc.enable_dns_support and vpc.enable_dns_hostnames
    if m := _VPCE.match(name):
        ep = next((e for e in model.endpoints_in(vpc.id) if e.id.startswith(m["id"])), None)
        if ep is not None:
            return Resolution(
                name,
                _endpoint_ips(model, ep, client_az),
                "endpoint-dns",
                f"endpoint DNS name of {ep.id}",
                endpoint=ep,
            )
    if m := _EC2_PUBLIC.match(name):
        public = IPv4Address(m["ip"].replace("-", "."))
        eni = model.interface_for_public_ip(public)
        if eni is not None and both and model.vpc_of(eni).id == vpc.id:
            return Resolution(
                name,
                (eni.private_ip,),
                "ec2-hostname",
                f"public DNS name of {eni.id}: the private address inside the VPC",
            )
        return Resolution(name, (public,), "ec2-hostname", "public DNS name: the public address")
    if m := _EC2_PRIVATE.match(name):
        private = IPv4Address(m["ip"].replace("-", "."))
        eni = model.interface_for_ip(private, vpc.id)
        if eni is not None and both:
            return Resolution(name, (private,), "ec2-hostname", f"private DNS name of {eni.id}")
        why = "no such interface in the VPC" if eni is None else "enableDnsHostnames is false"
        return Resolution(name, (), "unresolved", f"Amazon-provided private DNS name not answered: {why}")
    parsed = _aws_name(name)
    if parsed is not None:
        service_name, svc_region, bucket = parsed
        return _aws_service(model, vpc, name, service_name, svc_region, bucket, client_az)
    if name.endswith(".internal") or name.endswith(".local"):
        return Resolution(
            name, (), "unresolved", "NXDOMAIN: private names outside the model are not answered"
        )
    return Resolution(
        name,
        (internet_address(name),),
        "internet",
        "an internet host (stable stand-in address in 203.0.113.0/24)",
    )


def _aws_name(name: str) -> tuple[str, str, str | None] | None:
    if m := _S3.match(name):
        return "s3", m["region"] or DEFAULT_CLI_REGION, m["bucket"]
    if m := _REGIONAL.match(name):
        return m["service"], m["region"], None
    return None


def _endpoint_ips(model: Model, ep: VpcEndpoint, client_az: str | None) -> tuple[Address, ...]:
    enis = [model.get(e, NetworkInterface) for e in ep.network_interface_ids]
    # Clients use the endpoint interface in their own AZ first (zonal affinity of the answer order).
    enis.sort(key=lambda e: model.subnet_of(e).availability_zone != client_az)
    return tuple(e.private_ip for e in enis)


def _aws_service(
    model: Model,
    vpc: Vpc,
    name: str,
    service_name: str,
    region: str,
    bucket: str | None,
    client_az: str | None,
) -> Resolution:
    service = model.service(service_name, region)
    warnings: list[str] = []
    full = f"com.amazonaws.{region}.{service_name}"
    for ep in model.endpoints_in(vpc.id):
        if ep.vpc_endpoint_type != "Interface" or ep.service_name != full or not ep.private_dns_enabled:
            continue
        if ep.private_dns_only_for_inbound_resolver_endpoint:
            warnings.append(
                f"{ep.id} answers private DNS for the inbound Resolver endpoint only; in-VPC queries get public addresses"
            )
            continue
        if not (vpc.enable_dns_support and vpc.enable_dns_hostnames):
            warnings.append(
                f"{ep.id} has private DNS on, but {vpc.id} has enableDnsSupport={str(vpc.enable_dns_support).lower()} "
                f"and enableDnsHostnames={str(vpc.enable_dns_hostnames).lower()}: the private hosted zone does not apply"
            )
            continue
        if ep.state != "available":
            warnings.append(f"{ep.id} is {ep.state}")
            continue
        return Resolution(
            name,
            _endpoint_ips(model, ep, client_az),
            "private-dns",
            f"private DNS of interface endpoint {ep.id}: the endpoint's network interfaces",
            service,
            ep,
            bucket,
            tuple(warnings),
        )
    if service is None:
        return Resolution(
            name,
            (),
            "unresolved",
            f"{service_name} in {region} is not in the model's AWS service catalog (add a `services:` entry)",
            bucket=bucket,
            warnings=tuple(warnings),
        )
    legacy = (
        " (legacy global endpoint)"
        if region == DEFAULT_CLI_REGION and ".us-east-1." not in name and service_name == "s3"
        else ""
    )
    return Resolution(
        name,
        (_pick(name, service),),
        "aws-public",
        f"public address of {service_name} in {region}{legacy}",
        service,
        None,
        bucket,
        tuple(warnings),
    )

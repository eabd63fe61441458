"""reelstack's Pulumi component library: ``from infra import TranscoderFleet, TranscoderFleetArgs``.

Each component is a ``pulumi.ComponentResource`` configured by one frozen ``*Args``
dataclass; see docs/app-developers.md.
"""

from infra._fleet import MachineImage
from infra.apigateway_account import ApiGatewayAccount, ApiGatewayAccountArgs
from infra.backend import BackendService, BackendServiceArgs
from infra.database import Database, DatabaseArgs
from infra.distribution import SiteDistribution, SiteDistributionArgs
from infra.edge_protection import EdgeProtection, EdgeProtectionArgs
from infra.gateway import Gateway, GatewayArgs
from infra.network import Network, NetworkArgs
from infra.progress import ProgressService, ProgressServiceArgs
from infra.signing_key import SigningKey, SigningKeyArgs
from infra.storage import MediaStorage, MediaStorageArgs
from infra.transcoder import TranscoderFleet, TranscoderFleetArgs
from infra.types import BucketReference, Placement, Scaling, TokenIssuer
from infra.users import UserService, UserServiceArgs
from infra.web import WebApp, WebAppArgs

__all__ = [
    "ApiGatewayAccount",
    "ApiGatewayAccountArgs",
    "BackendService",
    "BackendServiceArgs",
    "BucketReference",
    "Database",
    "DatabaseArgs",
    "EdgeProtection",
    "EdgeProtectionArgs",
    "Gateway",
    "GatewayArgs",
    "MachineImage",
    "MediaStorage",
    "MediaStorageArgs",
    "Network",
    "NetworkArgs",
    "Placement",
    "ProgressService",
    "ProgressServiceArgs",
    "Scaling",
    "SigningKey",
    "SigningKeyArgs",
    "SiteDistribution",
    "SiteDistributionArgs",
    "TokenIssuer",
    "TranscoderFleet",
    "TranscoderFleetArgs",
    "UserService",
    "UserServiceArgs",
    "WebApp",
    "WebAppArgs",
]

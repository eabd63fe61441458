"""Roles: Cognito groups of the user pool, carried in access tokens, checked by the backend.

``UserService`` creates one group per role; an admin assigns them through ``/api/admin`` (or an
operator with ``reelstack admin grant``), never the user. Cognito puts the caller's groups in the
access token's ``cognito:groups`` claim
(https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html),
so a change shows in the tokens issued after it; the backend records a sign-out for the user
when it takes a role away, so a token that still names the role stops working at once.
"""

from __future__ import annotations

from enum import StrEnum

GROUPS_CLAIM = "cognito:groups"


class Role(StrEnum):
    ADMIN = "admin"
    MODERATOR = "moderator"


ROLE_DESCRIPTIONS: dict[Role, str] = {
    Role.ADMIN: "assigns roles, suspends users; can do all a moderator can",
    Role.MODERATOR: "reviews reports, hides and restores videos and comments",
}

# Cognito's precedence: the lower value wins where a group's IAM role would be chosen.
ROLE_PRECEDENCE: dict[Role, int] = {Role.ADMIN: 0, Role.MODERATOR: 1}

# What each role allows beyond itself.
IMPLIED: dict[Role, frozenset[Role]] = {
    Role.ADMIN: frozenset({Role.ADMIN, Role.MODERATOR}),
    Role.MODERATOR: frozenset({Role.MODERATOR}),
}


def roles_of(groups: object) -> frozenset[Role]:
    """The roles a ``cognito:groups`` claim grants, implied ones included; other groups are ignored."""
    if not isinstance(groups, list):
        return frozenset()
    known = {Role(g) for g in groups if isinstance(g, str) and g in Role.__members__.values()}
    return frozenset().union(*(IMPLIED[r] for r in known)) if known else frozenset()

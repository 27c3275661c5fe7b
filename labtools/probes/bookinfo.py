"""Which Bookinfo reviews version answered, read from the reviews JSON (never from the product page's HTML).

The reviews service answers `/reviews/<id>` with JSON it writes itself (LibertyRestEndpoint.java in Istio's
samples/bookinfo/src/reviews): `{"id": "0", "podname": "<pod name>", "clustername": "...", "reviews": [...]}`.
`podname` is the pod's HOSTNAME, e.g. `reviews-v3-6b8c4d9f7-x2x7q`. v1 runs with ratings disabled, so its
reviews carry no `rating`; v2 (STAR_COLOR unset) rates with `"color": "black"`, v3 with `"color": "red"`; when
ratings cannot be reached v2 and v3 write `"rating": {"error": ...}` instead.
productpage passes that JSON through unchanged at `/api/v1/products/<id>/reviews`, which is how the version can be
seen from the ingress gateway.
"""

from __future__ import annotations

import json
import re
from typing import Any

REVIEWS_API_PATH = "/api/v1/products/0/reviews"  # through the ingress: productpage relays the reviews JSON
REVIEWS_SERVICE_URL = "http://reviews:9080/reviews/0"  # from inside the mesh
COLOUR_VERSIONS = {"black": "v2", "red": "v3"}
_VERSION_IN_POD_NAME = re.compile(r"(?:^|-)(v\d+)(?:-|$)")


def parse_reviews(body: str | bytes | dict[str, Any]) -> dict[str, Any] | None:
    """The reviews JSON as a dict, or None when the body is not one (an HTML page, an error text)."""
    if isinstance(body, dict):
        data: Any = body
    else:
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        if not text.lstrip().startswith("{"):
            return None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # not JSON, or JSON nested thousands deep: not a reviews answer
            return None
    if not isinstance(data, dict) or not isinstance(data.get("reviews"), list):
        return None
    return data


def reviews_version(body: str | bytes | dict[str, Any]) -> str | None:
    """'v1', 'v2' or 'v3' for a reviews answer; None when the body is not a reviews answer or names no version.

    The pod name decides when it names a version; otherwise the stars do (none: v1, black: v2, red: v3).
    """
    data = parse_reviews(body)
    if data is None:
        return None
    podname = data.get("podname")
    if isinstance(podname, str) and podname.startswith("reviews"):
        match = _VERSION_IN_POD_NAME.search(podname[len("reviews"):])
        if match:
            return match.group(1)
    return _version_from_ratings(data["reviews"])


def reviews_pod(body: str | bytes | dict[str, Any]) -> str | None:
    """The name of the pod that answered, as the reviews JSON says."""
    data = parse_reviews(body)
    podname = data.get("podname") if data else None
    return podname if isinstance(podname, str) and podname not in ("", "null") else None


def _version_from_ratings(reviews: list[Any]) -> str | None:
    entries = [r for r in reviews if isinstance(r, dict)]
    if not entries:
        return None
    ratings = [r["rating"] for r in entries if isinstance(r.get("rating"), dict)]
    if not ratings:
        return "v1"
    colours = {COLOUR_VERSIONS.get(str(r.get("color", "")).lower()) for r in ratings} - {None}
    return colours.pop() if len(colours) == 1 else None  # ratings unavailable: v2 or v3, cannot tell

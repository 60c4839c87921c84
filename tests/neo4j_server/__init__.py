"""A real Neo4j 5.26 for the tests, started from Maven Central jars without Docker (see runner.py)."""

from .runner import (
    HOW_TO_ENABLE,
    REQUIRE_ENV,
    URI_ENV,
    Neo4jServer,
    Neo4jUnavailable,
    java_available,
    neo4j_required,
    start_neo4j,
    unavailable_reason,
)

__all__ = [
    "HOW_TO_ENABLE",
    "REQUIRE_ENV",
    "URI_ENV",
    "Neo4jServer",
    "Neo4jUnavailable",
    "java_available",
    "neo4j_required",
    "start_neo4j",
    "unavailable_reason",
]

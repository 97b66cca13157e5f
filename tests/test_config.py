"""``Settings.from_env`` and ``parse_setting``: defaults, each kind of value, ``off``, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from movielake import config
from movielake.config import ConfigError, Settings, default_engine, parse_setting


@pytest.fixture(autouse=True)
def no_local_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No recorded local stack unless a test writes one: the stack file points into tmp_path."""
    stack_file = tmp_path / "stack.json"
    monkeypatch.setattr(config, "STACK_FILE", stack_file)
    return stack_file


def test_an_empty_environment_gives_the_documented_defaults() -> None:
    settings = Settings.from_env({})
    assert settings == Settings()
    assert (settings.tmdb_rate, settings.tmdb_http_concurrency, settings.tmdb_batch_size) == (40.0, 20, 100)
    assert (settings.min_year, settings.min_votes, settings.genres) == (1960, 10000, ("crime", "war"))
    assert (settings.tmdb_language, settings.tmdb_lookup, settings.tmdb_workers) == ("pt-BR", "movie", 1)


def test_each_kind_of_value_is_parsed_from_its_variable() -> None:
    settings = Settings.from_env(
        {
            "MOVIELAKE_LAKE_BUCKET": "lake",
            "MOVIELAKE_TMDB_RATE": "12.5",
            "MOVIELAKE_TMDB_HTTP_CONCURRENCY": "7",
            "MOVIELAKE_MIN_YEAR": "2000",
            "MOVIELAKE_GENRES": " drama , ,comedy ",
            "MOVIELAKE_TMDB_LANGUAGE": "en-US",
            "UNRELATED": "ignored",
        }
    )
    assert settings.lake_bucket == "lake"
    assert settings.tmdb_rate == 12.5 and isinstance(settings.tmdb_rate, float)
    assert settings.tmdb_http_concurrency == 7 and isinstance(settings.tmdb_http_concurrency, int)
    assert settings.min_year == 2000
    assert settings.genres == ("drama", "comedy")
    assert settings.tmdb_language == "en-US"


@pytest.mark.parametrize("off", ["off", "OFF", "none", "", "  "])
def test_off_switches_a_filter_off(off: str) -> None:
    settings = Settings.from_env(
        {"MOVIELAKE_MIN_YEAR": off, "MOVIELAKE_MIN_VOTES": off, "MOVIELAKE_GENRES": off}
    )
    assert (settings.min_year, settings.min_votes, settings.genres) == (None, None, ())


@pytest.mark.parametrize(
    ("variable", "raw", "expected"),
    [
        ("MOVIELAKE_TMDB_RATE", "inf", "'inf' is not a finite number > 0"),
        ("MOVIELAKE_TMDB_RATE", "nan", "'nan' is not a finite number > 0"),
        ("MOVIELAKE_TMDB_RATE", "0", "'0' is not a finite number > 0"),
        ("MOVIELAKE_TMDB_HTTP_CONCURRENCY", "2.5", "'2.5' is not a whole number > 0"),
        ("MOVIELAKE_TMDB_BATCH_SIZE", "-1", "'-1' is not a whole number > 0"),
        ("MOVIELAKE_MIN_VOTES", "0", "'0' is not a whole number > 0, or 'off'"),
        ("MOVIELAKE_TMDB_WORKERS", "off", "'off' is not a whole number > 0"),
    ],
)
def test_a_bad_value_is_an_error_naming_the_variable(variable: str, raw: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({variable: raw})
    assert str(caught.value) == f"{variable}: {expected}"


def test_parse_setting_reads_flags_as_their_setting() -> None:
    assert parse_setting("tmdb_rate", "3") == 3.0
    assert parse_setting("tmdb_http_concurrency", "4") == 4
    assert parse_setting("min_year", "off") is None
    assert parse_setting("genres", "war") == ("war",)
    assert parse_setting("tmdb_base_url", "http://x") == "http://x"  # text is taken as it is
    with pytest.raises(ValueError, match="'x' is not a finite number > 0"):
        parse_setting("tmdb_timeout", "x")


def test_the_local_stack_record_fills_in_unless_the_lake_bucket_is_set(no_local_stack: Path) -> None:
    environment = {"MOVIELAKE_LAKE_BUCKET": "stack-lake", "MOVIELAKE_TMDB_RATE": "5"}
    no_local_stack.write_text(json.dumps({"environment": environment}))
    assert Settings.from_env({}).lake_bucket == "stack-lake"
    assert Settings.from_env({"MOVIELAKE_TMDB_RATE": "9"}).tmdb_rate == 9.0  # the shell wins
    assert Settings.from_env({"MOVIELAKE_LAKE_BUCKET": "real"}).tmdb_rate == 40.0  # a deployment: no stack


def test_an_unreadable_stack_record_says_what_to_do(no_local_stack: Path) -> None:
    no_local_stack.write_text("{not json")
    with pytest.raises(ConfigError, match="run `movielake local up` again"):
        Settings.from_env({})


def test_endpoint_and_region_fall_back_to_the_aws_variables() -> None:
    settings = Settings.from_env(
        {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_DEFAULT_REGION": "eu-west-1"}
    )
    assert (settings.endpoint_url, settings.region) == ("http://127.0.0.1:5000", "eu-west-1")
    assert Settings.from_env({"MOVIELAKE_REGION": "us-east-2", "AWS_REGION": "x"}).region == "us-east-2"


@pytest.mark.parametrize(
    "endpoint",
    ["http://127.0.0.1:5000", "http://localhost:4566", "http://[::1]:5000", "", "https://s3.amazonaws.com"],
)
def test_the_default_engine_is_aws_wherever_the_endpoint_points(endpoint: str) -> None:
    """No product shortcut on a loopback endpoint: the local stack runs the AWS code path."""
    assert default_engine(Settings(endpoint_url=endpoint)) == "aws"


def test_require_lists_every_missing_setting() -> None:
    with pytest.raises(ConfigError, match="MOVIELAKE_LAKE_BUCKET, MOVIELAKE_GLUE_DATABASE"):
        Settings(athena_workgroup="wg").require("lake_bucket", "glue_database", "athena_workgroup")

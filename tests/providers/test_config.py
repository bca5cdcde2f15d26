"""Credentials and base URLs: the vendors' env variables, clear errors, secrets that never print."""

from __future__ import annotations

import logging
import pickle

import pytest

from cardkit.errors import ConfigError
from cardkit.providers import Blooio, Linq, Secret, Sendblue, parse_names, providers_from_env, resolve_providers

SECRETS = {
    "BLOOIO_API_KEY": "bl_live_TOPSECRET_blooio",
    "SENDBLUE_API_API_KEY": "sb_key_TOPSECRET_id",
    "SENDBLUE_API_API_SECRET": "sb_secret_TOPSECRET_secret",
    "LINQ_API_V3_API_KEY": "linq_TOPSECRET_key",
}


def test_adapters_read_the_vendor_sdk_variables():
    """Each adapter takes its key and base URL from the same variables as the vendor's SDK."""
    env = {**SECRETS, "LINQ_API_V3_BASE_URL": "http://127.0.0.1:9/linq/"}
    blooio, sendblue, linq = providers_from_env(env=env)
    assert blooio.auth_headers() == {"Authorization": "Bearer bl_live_TOPSECRET_blooio"}
    assert sendblue.auth_headers() == {"sb-api-key-id": "sb_key_TOPSECRET_id",
                                       "sb-api-secret-key": "sb_secret_TOPSECRET_secret"}
    assert linq.base_url == "http://127.0.0.1:9/linq"
    assert blooio.base_url == "https://backend.blooio.com/v2/api"
    assert sendblue.base_url == "https://api.sendblue.co"


def test_arguments_win_over_the_environment():
    """A key passed to the constructor is used even when the variable is set."""
    linq = Linq(api_key="from_argument", base_url="https://example.test/api", env=SECRETS)
    assert linq.auth_headers()["Authorization"] == "Bearer from_argument"
    assert linq.base_url == "https://example.test/api"


@pytest.mark.parametrize("cls, variable", [(Blooio, "BLOOIO_API_KEY"), (Linq, "LINQ_API_V3_API_KEY"),
                                           (Sendblue, "SENDBLUE_API_API_KEY")])
def test_a_missing_credential_names_the_variable(cls, variable):
    """Without a key the ConfigError names the environment variable to set."""
    with pytest.raises(ConfigError, match=variable):
        cls(env={})


@pytest.mark.parametrize("key", ["bl_live_TOPSECRET\nsecond line", "bl_live TOPSECRET", "bl_live_TOPSECRET\u200b"])
def test_a_key_with_a_line_break_space_or_hidden_character_is_refused_without_showing_it(key):
    """A key pasted with a line break, space or zero-width character inside (outer whitespace is
    trimmed) is refused at once, naming where it came from and never showing it — not sent on
    every request to fail as a broken connection five times."""
    with pytest.raises(ConfigError, match="BLOOIO_API_KEY.*copy it again") as caught:
        Blooio(env={"BLOOIO_API_KEY": key})
    assert "TOPSECRET" not in str(caught.value)
    with pytest.raises(ConfigError, match="api_key="):
        Blooio(api_key=key, env={})


def test_sendblue_needs_its_secret_too():
    """A Sendblue key without its secret names SENDBLUE_API_API_SECRET."""
    with pytest.raises(ConfigError, match="SENDBLUE_API_API_SECRET"):
        Sendblue(api_key="only-the-id", env={})


def test_a_named_provider_must_be_configured():
    """Asking for linq when only Blooio is configured fails naming Linq's variable."""
    with pytest.raises(ConfigError, match="LINQ_API_V3_API_KEY"):
        providers_from_env("blooio,linq", env={"BLOOIO_API_KEY": "k"})


def test_no_provider_configured_lists_every_variable():
    """With nothing configured the error lists the variables and mentions the sandbox."""
    with pytest.raises(ConfigError) as caught:
        providers_from_env(env={})
    for variable in SECRETS:
        assert variable in str(caught.value)
    assert "sandbox" in str(caught.value)


def test_auto_takes_only_the_configured_providers():
    """Without names, exactly the providers whose credentials are set are built."""
    built = providers_from_env(env={"LINQ_API_V3_API_KEY": "k"})
    assert [p.name for p in built] == ["linq"]


def test_unknown_provider_names_are_refused_with_the_choices():
    """A typo in a provider name lists the valid names."""
    with pytest.raises(ConfigError, match="blooio, sendblue, linq"):
        parse_names("bloio")
    assert parse_names(" Linq , blooio,linq") == ["linq", "blooio"]
    assert parse_names("auto") is None


def test_a_bad_base_url_is_a_config_error():
    """A base URL without a scheme is refused, naming the variable it came from."""
    with pytest.raises(ConfigError, match="BLOOIO_BASE_URL"):
        Blooio(api_key="k", base_url="backend.blooio.com")


def test_secrets_never_appear_in_reprs_strings_or_logs(caplog):
    """repr/str of adapters and of Secret, and logging them, never show a key."""
    adapters = providers_from_env(env=SECRETS)
    caplog.set_level(logging.DEBUG)
    for adapter in adapters:
        logging.getLogger("cardkit.test").info("adapter %r %s %s", adapter, adapter, vars(adapter))
    shown = " ".join([repr(adapters), str(adapters), caplog.text, repr(Secret("abc")), str(Secret("abc"))])
    for value in SECRETS.values():
        assert value not in shown
    assert "abc" not in repr(Secret("abc")) and Secret("abc").reveal() == "abc"
    assert repr(adapters[0]) == "Blooio(base_url='https://backend.blooio.com/v2/api')"


def test_adapters_and_secrets_refuse_to_be_pickled():
    """Pickling would copy a key into a file; it is refused with a reason."""
    with pytest.raises(TypeError, match="credentials"):
        pickle.dumps(Blooio(api_key="bl_live_x"))
    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))


def test_resolve_providers_keeps_given_adapters_and_builds_named_ones(monkeypatch):
    """A list mixing an adapter and a name gives both adapters, built from the environment."""
    monkeypatch.setenv("LINQ_API_V3_API_KEY", "linq_env_key")
    blooio = Blooio(api_key="k")
    built = resolve_providers([blooio, "linq"])
    assert built[0] is blooio and built[1].name == "linq"
    assert built[1].auth_headers()["Authorization"] == "Bearer linq_env_key"

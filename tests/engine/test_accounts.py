"""Several accounts per provider: the accounts file, routing across every account, the `account`
column, and resume matching on the account — over HTTP against the sandbox."""

from __future__ import annotations

import json

import pytest

import cardkit
from cardkit.engine.journal import Journal
from cardkit.errors import ConfigError
from cardkit.providers.accounts import read_accounts
from cardkit.sandbox import Sandbox
from cardkit.sandbox.seed import default_seed_text

from .conftest import cards_of, write_sheet

# the sandbox's packaged "accounts" seed: two Blooio and two Linq accounts, one Sendblue
EAST = ["+14155552671", "+14155552672"]
WEST = ["+12125550123", "+13105551234"]
US = ["+14085550111", "+19175550133"]
EU = ["+13235550177", "+14045550166"]
SENDBLUE = ["+13125550182"]
SHARED = "+16175550199"          # blooio-west's; this module's seed gives it to blooio-east too


def packaged_accounts_seed() -> dict:
    """The packaged accounts seed, with one number owned by both Blooio accounts."""
    seed = json.loads(default_seed_text("accounts"))
    east = next(a for a in seed["blooio"]["accounts"] if a["name"] == "blooio-east")
    east["numbers"].append({"number": SHARED, "plan": "dedicated_commercial"})
    return seed


def _keys() -> dict[str, str]:
    """The environment variables of ACCOUNTS_TOML → the packaged seed's keys for them."""
    accounts = Sandbox(seed=packaged_accounts_seed()).accounts
    return {"BL_EAST": accounts["blooio"]["blooio-east"]["api_key"],
            "BL_WEST": accounts["blooio"]["blooio-west"]["api_key"],
            "LQ_US": accounts["linq"]["linq-us"]["api_key"], "LQ_EU": accounts["linq"]["linq-eu"]["api_key"],
            "SB_ID": accounts["sendblue"]["sendblue-main"]["key_id"],
            "SB_SECRET": accounts["sendblue"]["sendblue-main"]["secret"]}


KEYS = _keys()

ACCOUNTS_TOML = """
[accounts.blooio-east]
provider = "blooio"
api_key_env = "BL_EAST"

[accounts.blooio-west]
provider = "blooio"
api_key_env = "BL_WEST"

[accounts.linq-us]
provider = "linq"
api_key_env = "LQ_US"

[accounts.linq-eu]
provider = "linq"
api_key_env = "LQ_EU"

[accounts.sendblue-main]
provider = "sendblue"
key_id_env = "SB_ID"
secret_env = "SB_SECRET"
"""


def accounts_seed() -> dict:
    """A seed with two Blooio and two Linq accounts (each key owning its own numbers)."""
    def owned(numbers, key, plan=None):
        return [{"number": n, "owners": [key], **({"plan": plan} if plan else {})} for n in numbers]

    return {
        "blooio": {"api_keys": [KEYS["BL_EAST"], KEYS["BL_WEST"]],
                   "numbers": owned(EAST, KEYS["BL_EAST"], "dedicated_commercial")
                   + owned(WEST, KEYS["BL_WEST"], "dedicated_commercial")
                   + [{"number": SHARED, "plan": "dedicated_commercial",
                       "owners": [KEYS["BL_EAST"], KEYS["BL_WEST"]]}]},
        "linq": {"api_keys": [KEYS["LQ_US"], KEYS["LQ_EU"]],
                 "numbers": owned(US, KEYS["LQ_US"]) + owned(EU, KEYS["LQ_EU"])},
        "sendblue": {"credentials": [{"key_id": KEYS["SB_ID"], "secret": KEYS["SB_SECRET"]}],
                     "numbers": SENDBLUE},
    }


@pytest.fixture
def accounts(tmp_path, monkeypatch):
    """An accounts file, its variables set to the seed's keys (and no vendor variables)."""
    for variable in ("BLOOIO_API_KEY", "LINQ_API_V3_API_KEY", "SENDBLUE_API_API_KEY", "SENDBLUE_API_API_SECRET"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in KEYS.items():
        monkeypatch.setenv(variable, value)
    path = tmp_path / "accounts.toml"
    path.write_text(ACCOUNTS_TOML)
    return path


def test_the_accounts_file_names_accounts_and_their_variables(accounts):
    """Each [accounts.NAME] gives a provider and the names of the variables holding its secrets."""
    book = read_accounts(accounts)
    assert book.names() == ["blooio-east", "blooio-west", "linq-us", "linq-eu", "sendblue-main"]
    sendblue = book.accounts[-1]
    assert sendblue.variables == (("api_key", "SB_ID"), ("api_secret", "SB_SECRET"))
    assert "sb_secret" not in repr(book)


@pytest.mark.parametrize("entry, field", [
    ('provider = "blooio"\napi_key = "bl_live_TOPSECRET123"', "api_key"),
    ('provider = "blooio"\napi_key_env = "bl_live_TOPSECRET123"', "api_key_env"),
    ('provider = "sendblue"\nkey_id_env = "SB_ID"\nsecret_env = "sk-TOP/SECRET+123"', "secret_env"),
])
def test_a_secret_written_in_the_file_is_refused_without_repeating_it(tmp_path, entry, field):
    """A literal key is refused with how to move it to the environment; the value is never echoed."""
    path = tmp_path / "accounts.toml"
    path.write_text(f"[accounts.east]\n{entry}\n")
    with pytest.raises(ConfigError) as caught:
        read_accounts(path)
    text = str(caught.value)
    assert "TOPSECRET" not in text and "SECRET+123" not in text
    assert field in text and "export EAST_" in text and "_env = " in text


def test_a_missing_variable_is_named_and_its_account_too(accounts, monkeypatch):
    """An account whose variable is unset fails before any request, naming both."""
    monkeypatch.delenv("LQ_EU")
    with pytest.raises(ConfigError, match=r"'linq-eu' \(linq\): the environment variable LQ_EU is not set"):
        cardkit.plan(cards_of([{"Phone": US[0], "First Name": "A"}], accounts.parent),
                     accounts=accounts, sandbox=Sandbox(seed=accounts_seed()), progress=False)


def test_one_sheet_is_routed_across_two_blooio_and_two_linq_accounts(accounts, tmp_path):
    """`auto` asks every account for its numbers; each row lands at the account owning it, and the
    results name the account (never a key)."""
    box = Sandbox(seed=accounts_seed())
    rows = [{"Phone": n, "First Name": f"N{i}", "Last Name": "Acct"}
            for i, n in enumerate(EAST + WEST + US + EU)]
    results = cardkit.apply(cards_of(rows, tmp_path), accounts=accounts, sandbox=box, progress=False)
    expected = ["blooio-east"] * 2 + ["blooio-west"] * 2 + ["linq-us"] * 2 + ["linq-eu"] * 2
    assert results["account"].tolist() == expected
    assert results["provider"].tolist() == ["blooio"] * 4 + ["linq"] * 4
    assert results["status"].tolist() == ["applied"] * 8
    state = box.state()
    assert set(state["blooio"]["writes_by_number"]) == set(EAST + WEST)
    assert set(state["linq"]["writes_by_number"]) == set(US + EU)
    assert not any(key in results.to_json() for key in KEYS.values())


def test_a_number_two_accounts_own_is_reported_naming_both(accounts, tmp_path):
    """A number on two Blooio accounts is invalid with both names — cardkit does not guess."""
    box = Sandbox(seed=accounts_seed())
    results = cardkit.apply(cards_of([{"Phone": SHARED, "First Name": "Two"}], tmp_path),
                            accounts=accounts, sandbox=box, progress=False)
    row = results.iloc[0]
    assert row["status"] == "invalid"
    assert "blooio-east and blooio-west" in row["message"] and "provider column" in row["message"]
    assert box.state()["blooio"]["writes"] == 0


def test_the_provider_cell_may_name_an_account(accounts, tmp_path):
    """A row whose provider cell names an account goes there, even for a number two accounts own."""
    box = Sandbox(seed=accounts_seed())
    sheet = write_sheet(tmp_path / "cards.csv", [{"Phone": SHARED, "First Name": "West", "Provider": "Blooio-West"}])
    assert "not a provider" in cardkit.validate(cardkit.read_cards(sheet)).loc[0, "problems"]
    checked = cardkit.validate(cardkit.read_cards(sheet), accounts=read_accounts(accounts).names())
    assert checked.loc[0, "valid"]
    for cards, status in ((cardkit.read_cards(sheet), "applied"), (checked, "unchanged")):
        results = cardkit.apply(cards, accounts=accounts, sandbox=box, progress=False)  # validated here, or before
        assert results.loc[0, ["account", "status"]].tolist() == ["blooio-west", status]
    assert box.state()["blooio"]["writes_by_number"] == {SHARED: 1}


def test_resume_matches_on_the_account(accounts, tmp_path):
    """A re-run skips what the journal says the same account applied; another account's run of
    the same number does not count for it (it reads the provider back instead)."""
    box = Sandbox(seed=accounts_seed())
    journal = tmp_path / "run.journal.sqlite"
    cards = cards_of([{"Phone": EAST[0], "First Name": "Ada"}, {"Phone": US[0], "First Name": "Cy"}], tmp_path)
    first = cardkit.apply(cards, accounts=accounts, sandbox=box, journal=journal, progress=False)
    assert first["status"].tolist() == ["applied", "applied"]
    again = cardkit.apply(cards, accounts=accounts, sandbox=box, journal=journal, progress=False)
    assert again["status"].tolist() == ["unchanged", "unchanged"]
    assert all(m.startswith("already applied in run") for m in again["message"])
    with Journal(journal) as opened:
        assert opened.results(first.attrs["cardkit"]["run_id"])["account"].tolist() == ["blooio-east", "linq-us"]
        assert json.dumps(opened.run_info()).count("bl_test") == 0
    # the same numbers under renamed accounts: not the journal's accounts, so read back, not skipped
    renamed = tmp_path / "renamed.toml"
    renamed.write_text(ACCOUNTS_TOML.replace("blooio-east", "east").replace("linq-us", "us"))
    other = cardkit.apply(cards, accounts=renamed, sandbox=box, journal=journal, progress=False)
    assert other["account"].tolist() == ["east", "us"]
    assert other["status"].tolist() == ["unchanged", "unchanged"]
    assert not any(m.startswith("already applied in run") for m in other["message"])


def test_the_vendors_variables_are_one_account_each_named_after_the_provider(sandbox, tmp_path):
    """Without an accounts file, the account column holds the provider's name."""
    from .conftest import BLOOIO, LINQ

    results = cardkit.apply(cards_of([{"Phone": BLOOIO, "First Name": "A"}, {"Phone": LINQ, "First Name": "B"}],
                                     tmp_path), sandbox=sandbox, progress=False)
    assert results["account"].tolist() == results["provider"].tolist() == ["blooio", "linq"]


def test_two_adapters_of_one_provider_run_side_by_side_when_named(tmp_path):
    """Adapters given as instances: two of one provider in one run, told apart by `account=`."""
    box = Sandbox(seed=accounts_seed())
    url = box.base_urls()["blooio"]
    east = cardkit.Blooio(KEYS["BL_EAST"], base_url=url, account="east")
    west = cardkit.Blooio(KEYS["BL_WEST"], base_url=url, account="west")
    assert "bl_test" not in repr(east) and "account='east'" in repr(east)
    results = cardkit.apply(cards_of([{"Phone": EAST[0], "First Name": "E"}, {"Phone": WEST[0], "First Name": "W"}],
                                     tmp_path), [east, west], sandbox=box, progress=False)
    assert results["account"].tolist() == ["east", "west"]
    assert results["status"].tolist() == ["applied", "applied"]
    with pytest.raises(ConfigError, match="give each its own account name"):
        cardkit.plan(cards_of([{"Phone": EAST[0], "First Name": "E"}], tmp_path),
                     [cardkit.Blooio(KEYS["BL_EAST"], base_url=url), cardkit.Blooio(KEYS["BL_WEST"], base_url=url)],
                     sandbox=box, progress=False)


def test_retry_goes_back_to_the_same_accounts_from_the_journal(accounts, tmp_path):
    """`retry` of a run made with an accounts file reuses that file and sends each row to its account."""
    from cardkit.engine import retry

    box = Sandbox(seed=accounts_seed(), fault_rate=1.0, fault_mix={"error": 1.0})
    journal = tmp_path / "run.journal.sqlite"
    sheet = write_sheet(tmp_path / "cards.csv", [{"Phone": WEST[0], "First Name": "W", "Provider": "blooio-west"},
                                                 {"Phone": EU[0], "First Name": "E", "Provider": "linq-eu"}])
    failed = cardkit.apply(cardkit.read_cards(sheet), accounts=accounts, sandbox=box, journal=journal,
                           progress=False, max_attempts=1)
    assert failed["status"].tolist() == ["failed", "failed"]
    box.faults.rate = 0.0
    again = retry(journal, sandbox=box, progress=False)
    assert again["account"].tolist() == ["blooio-west", "linq-eu"]
    assert again["status"].tolist() == ["applied", "applied"]


def test_contacts_take_the_sendblue_account_of_the_file(accounts, tmp_path):
    """`update_contacts(accounts=…)` uses the file's Sendblue account; the results name it."""
    from cardkit.contacts import update_contacts

    box = Sandbox(seed=accounts_seed())
    sheet = write_sheet(tmp_path / "contacts.csv", [{"Phone": "+14155550123", "First Name": "Ada"}])
    results = update_contacts(sheet, accounts=accounts, sandbox=box, create_missing=True, progress=False)
    assert results.loc[0, ["provider", "account", "status"]].tolist() == ["sendblue", "sendblue-main", "applied"]


def test_owners_names_accounts(accounts):
    """`cardkit.owners(…, accounts=…)` answers with the accounts that list each number."""
    found = cardkit.owners([EAST[0], SHARED, EU[0]], accounts=accounts, sandbox=Sandbox(seed=accounts_seed()))
    assert found.of(EAST[0]) == ("blooio-east",)
    assert found.of(SHARED) == ("blooio-east", "blooio-west")
    assert found.of(EU[0]) == ("linq-eu",)


def test_a_blooio_account_may_declare_its_plan_for_the_key_or_per_number(tmp_path):
    """`plan` (every number) and `[accounts.NAME.plans]` (per number, any written form of +E.164)
    are read for Blooio and handed to its adapter; the vendors' own variable names are names."""
    path = tmp_path / "accounts.toml"
    path.write_text('[accounts.east]\nprovider = "blooio"\napi_key_env = "BLOOIO_API_KEY"\nplan = "Dedicated Commercial"\n'
                    '[accounts.east.plans]\n"+1 202 555 0147" = "standard"\n'
                    '[accounts.lq]\nprovider = "linq"\napi_key_env = "LINQ_API_V3_API_KEY"\n', encoding="utf-8")
    east, lq = read_accounts(path)
    assert east.plan == "dedicated_commercial" and east.plans == (("+12025550147", "standard"),)
    assert east.options() == {"plan": "dedicated_commercial", "plans": {"+12025550147": "standard"},
                              "plan_source": "declared in the accounts file"}
    assert lq.options() == {} and lq.variables == (("api_key", "LINQ_API_V3_API_KEY"),)


@pytest.mark.parametrize("entry, said", [
    ('provider = "linq"\napi_key_env = "LQ"\nplan = "standard"', "unknown field 'plan'"),
    ('provider = "blooio"\napi_key_env = "BL"\n[accounts.a.plans]\n"202 555 0147" = "standard"',
     "'202 555 0147' is not a phone number in international form"),
    ('provider = "blooio"\napi_key_env = "BL"\nplan = ""', "plan must be a plan's name"),
])
def test_a_declared_plan_that_cannot_be_used_is_refused_saying_why(tmp_path, entry, said):
    """A plan on a provider without plans, a number without +country code, an empty plan: one clear line."""
    path = tmp_path / "accounts.toml"
    path.write_text(f"[accounts.a]\n{entry}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=said.replace("(", r"\(").replace("+", r"\+")):
        read_accounts(path)


def test_a_declared_standard_plan_makes_name_and_photo_unsupported_at_plan_before_any_write(tmp_path, monkeypatch):
    """With `plans` saying standard, plan says `invalid` (unsupported) for a name on that number,
    naming the plan and where it was declared, and apply agrees without a single write."""
    box = Sandbox()
    monkeypatch.setenv("BLOOIO_KEY_DECLARED", box.credentials["blooio"]["api_key"])
    path = tmp_path / "accounts.toml"
    path.write_text('[accounts.blooio]\nprovider = "blooio"\napi_key_env = "BLOOIO_KEY_DECLARED"\n'
                    '[accounts.blooio.plans]\n"+12025550147" = "standard"\n', encoding="utf-8")
    cards = cards_of([{"Phone": "+12025550147", "First Name": "Uma"}], tmp_path)
    planned = cardkit.plan(cards, sandbox=box, accounts=path, progress=False)
    applied = cardkit.apply(cards, sandbox=box, accounts=path, journal=False, progress=False)
    for frame in (planned, applied):
        assert frame.loc[0, ["status", "action"]].tolist() == ["invalid", "unsupported"]
        assert "plan (standard, declared in the accounts file) can't set first_name" in frame.loc[0, "message"]
    assert box.state()["blooio"]["writes"] == 0

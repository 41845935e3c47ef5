from pathlib import Path

import pytest

from whisperd.errors import SettingsError
from whisperd.settings import Settings


def test_defaults_need_no_environment() -> None:
    settings = Settings.from_env({})
    assert settings.host == "127.0.0.1" and settings.port == 8000
    assert settings.model == "base" and settings.device == "auto"
    assert settings.queue_url is None and settings.local_model


def test_typed_values_from_environment() -> None:
    settings = Settings.from_env({
        "WHISPERD_PORT": "9000",
        "WHISPERD_DEVICE": "CPU",
        "WHISPERD_COMPUTE_TYPE": "int8",
        "WHISPERD_DATA_DIR": "/tmp/whisperd-x",
        "WHISPERD_MAX_CONCURRENCY": "3",
        "WHISPERD_MAX_QUEUE": "0",
        "WHISPERD_LOCAL_MODEL": "false",
        "WHISPERD_QUEUE_URL": "redis://127.0.0.1:6379/0",
        "WHISPERD_API_KEYS": "k1, k2,,",
    })
    assert settings.port == 9000 and settings.device == "cpu"
    assert settings.data_dir == Path("/tmp/whisperd-x")
    assert settings.max_concurrency == 3 and settings.max_queue == 0
    assert settings.local_model is False
    assert settings.api_keys == ("k1", "k2")


@pytest.mark.parametrize("name,value", [
    ("WHISPERD_PORT", "eighty"),
    ("WHISPERD_PORT", "70000"),
    ("WHISPERD_DEVICE", "tpu"),
    ("WHISPERD_COMPUTE_TYPE", "int3"),
    ("WHISPERD_MAX_CONCURRENCY", "0"),
    ("WHISPERD_MAX_QUEUE", "-1"),
    ("WHISPERD_LOCAL_MODEL", "maybe"),
    ("WHISPERD_QUEUE_URL", "amqp://x"),
])
def test_malformed_value_names_the_variable(name, value) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({name: value})
    assert name in caught.value.message


def test_api_model_needs_a_queue() -> None:
    with pytest.raises(SettingsError, match="WHISPERD_LOCAL_MODEL"):
        Settings.from_env({"WHISPERD_LOCAL_MODEL": "false"})


def test_api_keys_file(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    keys.write_text("alpha\n\n beta \n")
    settings = Settings.from_env({"WHISPERD_API_KEYS_FILE": str(keys), "WHISPERD_API_KEYS": "gamma"})
    assert settings.load_api_keys() == frozenset({"alpha", "beta", "gamma"})

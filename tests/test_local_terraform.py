"""The Terraform driver: where the provider comes from, the CLI configuration, and a real validate."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from movielake.local.cli import terraform_args
from movielake.local.terraform import (
    PLUGIN_DIR_ENV,
    TERRAFORM_DIR,
    Terraform,
    TerraformError,
    cli_config_text,
    find_plugin_dir,
)


def test_the_environment_variable_wins(tmp_path: Path) -> None:
    configured = tmp_path / "my-mirror"
    configured.mkdir()
    (tmp_path / "opt" / "tf-plugins").mkdir(parents=True)

    found = find_plugin_dir({PLUGIN_DIR_ENV: str(configured)}, roots=[tmp_path])

    assert found == configured


def test_a_configured_mirror_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TerraformError, match=PLUGIN_DIR_ENV):
        find_plugin_dir({PLUGIN_DIR_ENV: str(tmp_path / "nowhere")}, roots=[tmp_path])


def test_a_tf_plugins_directory_is_detected_up_to_depth_three(tmp_path: Path) -> None:
    mirror = tmp_path / "a" / "b" / "tf-plugins"
    mirror.mkdir(parents=True)

    assert find_plugin_dir({}, roots=[tmp_path]) == mirror


def test_deeper_directories_are_not_searched(tmp_path: Path) -> None:
    (tmp_path / "a" / "b" / "c" / "tf-plugins").mkdir(parents=True)

    assert find_plugin_dir({}, roots=[tmp_path]) is None


def test_without_a_mirror_the_registry_is_used(tmp_path: Path) -> None:
    assert find_plugin_dir({}, roots=[tmp_path]) is None
    assert "provider_installation" not in cli_config_text(None)


def test_the_cli_config_installs_from_the_mirror_only(tmp_path: Path) -> None:
    mirror = tmp_path / "tf-plugins"
    driver = Terraform(state_dir=tmp_path / "local", plugin_dir=mirror)

    text = driver.write_cli_config().read_text()

    assert driver.cli_config == tmp_path / "local" / "terraformrc"
    assert f'path    = "{mirror}"' in text
    assert "filesystem_mirror {" in text
    assert 'exclude = ["registry.terraform.io/*/*"]' in text
    env = driver.env()
    assert env["TF_CLI_CONFIG_FILE"] == str(driver.cli_config)
    assert env["TF_DATA_DIR"] == str(tmp_path / "local" / "terraform-data")


def test_state_commands_get_the_local_state_and_variables(tmp_path: Path) -> None:
    state, tfvars = tmp_path / "terraform.tfstate", tmp_path / "local.tfvars.json"
    tfvars.write_text("{}")

    assert terraform_args(["--", "plan", "-no-color"], state, tfvars) == [
        "plan",
        f"-var-file={tfvars}",
        f"-state={state}",
        "-no-color",
    ]
    assert terraform_args(["output", "-state=x"], state, tfvars) == ["output", "-state=x"]
    assert terraform_args(["validate", "-no-color"], state, tfvars) == ["validate", "-no-color"]
    assert terraform_args(["fmt", "-check"], state, tfvars) == ["fmt", "-check"]


def test_a_missing_terraform_binary_says_how_to_install_it(tmp_path: Path) -> None:
    driver = Terraform(state_dir=tmp_path, binary="terraform-that-does-not-exist")

    with pytest.raises(TerraformError, match="install Terraform"):
        driver.run(["version"], init=False)


@pytest.mark.terraform
def test_validate_works_offline_without_a_stack_or_credentials(tmp_path: Path, monkeypatch) -> None:
    if shutil.which("terraform") is None:
        pytest.skip("terraform is not on PATH")
    driver = Terraform.create(tmp_path / "local")
    if driver.plugin_dir is None:
        pytest.skip(f"no provider mirror ({PLUGIN_DIR_ENV} unset, no tf-plugins dir) and no registry here")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)

    result = driver.run(["validate", "-no-color"], capture=True)

    assert "The configuration is valid" in result.stdout
    assert not (TERRAFORM_DIR / ".terraform").exists()  # the data dir is under state_dir
    assert driver.init() is False  # initialised already: nothing to do

"""`python -m hsl_bioner.plugin`: the `allennlp` command finds the plugin in any directory."""

import os
import subprocess
import sys

from hsl_bioner.plugin import register_plugin, unregister_plugin


def test_registering_is_idempotent_and_keeps_other_plugins(tmp_path):
    plugins = tmp_path / ".allennlp" / "plugins"
    assert register_plugin(str(plugins)) is True  # creates the folder and the file
    assert plugins.read_text() == "hsl_bioner\n"
    assert register_plugin(str(plugins)) is False
    plugins.write_text("other_plugin")  # no final newline
    assert register_plugin(str(plugins)) is True
    assert plugins.read_text() == "other_plugin\nhsl_bioner\n"
    plugins.write_text("  hsl_bioner  \nother_plugin\n")  # AllenNLP strips each line
    assert register_plugin(str(plugins)) is False
    assert unregister_plugin(str(plugins)) is True
    assert plugins.read_text() == "other_plugin\n"
    assert unregister_plugin(str(plugins)) is False


def _allennlp(args, cwd, home):
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_the_subcommands_work_in_any_directory_after_the_set_up(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    before = _allennlp(["allennlp", "bioner-tag", "--help"], elsewhere, home)
    assert before.returncode != 0 and "invalid choice: 'bioner-tag'" in before.stderr

    # What `make venv` runs, and the one-liner for a pip install.
    setup = _allennlp(["hsl_bioner.plugin"], elsewhere, home)
    assert setup.returncode == 0, setup.stderr
    assert (home / ".allennlp" / "plugins").read_text() == "hsl_bioner\n"

    listing = _allennlp(["allennlp", "--help"], elsewhere, home)
    assert listing.returncode == 0, listing.stderr
    for command in ("bioner-tag", "bioner-analyze", "bioner-average"):
        assert command in listing.stdout
    tag = _allennlp(["allennlp", "bioner-tag", "--help"], elsewhere, home)
    assert tag.returncode == 0 and "usage: allennlp bioner-tag" in tag.stdout

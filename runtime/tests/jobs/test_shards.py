import gzip
import os

import pytest

from hsl_bioner_runtime.jobs.shards import (
    ShardError,
    atomic_output,
    find_shards,
    output_name,
    remove_temporary_files,
)


def test_output_names_follow_the_input_and_the_output_format():
    assert output_name("in/part-1.jsonl", "json") == "part-1.jsonl"
    assert output_name("in/part-1.pubtator.gz", "json") == "part-1.jsonl.gz"
    assert output_name("in/part-1.txt", "bioc-xml") == "part-1.xml"
    assert output_name("in/part-1", "pubtator") == "part-1.pubtator"


def test_a_folder_a_glob_and_a_file(tmp_path):
    for name in ("b.jsonl", "a.txt.gz", ".hidden", "c.xml"):
        (tmp_path / name).write_text("x\n")
    (tmp_path / "sub").mkdir()
    out = str(tmp_path / "out")
    assert [s.input for s in find_shards(str(tmp_path), out, "json")] == [
        str(tmp_path / name) for name in ("a.txt.gz", "b.jsonl", "c.xml")
    ]
    assert [s.output for s in find_shards(str(tmp_path / "*.jsonl"), out, "json")] == ["b.jsonl"]
    (shard,) = find_shards(str(tmp_path / "a.txt.gz"), out, "conll")
    assert shard.output == "a.conll.gz" and shard.gzipped


def test_jobs_that_cannot_start_say_why(tmp_path):
    with pytest.raises(ShardError, match="no file matches"):
        find_shards(str(tmp_path / "*.jsonl"), str(tmp_path), "json")
    with pytest.raises(ShardError, match="no such file or folder"):
        find_shards(str(tmp_path / "missing"), str(tmp_path), "json")
    (tmp_path / "a.txt").write_text("x\n")
    (tmp_path / "a.jsonl").write_text("x\n")
    with pytest.raises(ShardError, match="a.jsonl and .*a.txt would both be tagged into a.jsonl"):
        find_shards(str(tmp_path), str(tmp_path / "out"), "json")
    with pytest.raises(ShardError, match="would replace it"):
        find_shards(str(tmp_path / "a.jsonl"), str(tmp_path), "json")


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_atomic_output_leaves_the_file_whole_or_nothing(tmp_path):
    target = str(tmp_path / "out.jsonl.gz")
    with atomic_output(target, gzipped=True) as stream:
        stream.write("héllo\n")
    first = open(target, "rb").read()
    assert gzip.decompress(first) == "héllo\n".encode()
    assert os.stat(target).st_mode & 0o777 == 0o666 & ~current_umask()  # as `open` would make it
    with atomic_output(target, gzipped=True) as stream:
        stream.write("héllo\n")
    assert open(target, "rb").read() == first  # no time stamp: the same bytes
    with pytest.raises(RuntimeError):
        with atomic_output(target, gzipped=True) as stream:
            stream.write("half")
            raise RuntimeError("killed")
    assert open(target, "rb").read() == first and os.listdir(tmp_path) == ["out.jsonl.gz"]
    (tmp_path / ".bioner-tmp-left-by-a-killed-run").write_text("half")
    assert remove_temporary_files(str(tmp_path)) == 1

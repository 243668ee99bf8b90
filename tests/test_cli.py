"""The command line as a clerk uses it: `ingest` a folder, `search` it, read the exit status."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import ARTICLE_ID

from search_service.cli import main

REPO_ROOT = Path(__file__).resolve().parent.parent
SUMMARY = re.compile(r"added (\d+), updated (\d+), skipped (\d+), deleted (\d+), failed (\d+)")
HIT_KEYS = {"id", "title", "snippet", "score", "category", "doc_type", "doc_number", "issuer",
            "published", "views", "url"}


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def small_corpus(tmp_path) -> Path:
    """Two good files in the ward's formats."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "san-bong.txt").write_text(
        "TIN TỨC - SỰ KIỆN\n\nKhánh thành sân bóng đá mini tổ dân phố số 2\n"
        "Ngày đăng 02/09/2023 | 07:30 \u00a0|\u00a0Lượt xem: 42\n\n"
        "Sân bóng mở cửa từ 6 giờ sáng cho thanh thiếu niên trong phường.\n", encoding="utf-8")
    (folder / "van-ban.jsonl").write_text(json.dumps({
        "id": "qd-88", "title": "Quyết định thành lập đội phản ứng nhanh",
        "body": "Thành lập đội phản ứng nhanh phòng chống thiên tai.", "doc_number": "88/QĐ-UBND",
        "published": "2023-10-01"}, ensure_ascii=False) + "\n", encoding="utf-8")
    return folder


def summary_counts(stderr: str) -> tuple[int, ...]:
    match = SUMMARY.search(stderr)
    assert match, stderr
    return tuple(int(n) for n in match.groups())


# -- ingest ------------------------------------------------------------------------------------

def test_ingest_prints_the_summary_on_stderr(runner, tmp_path, small_corpus):
    result = runner.invoke(main, ["ingest", "--index", str(tmp_path / "index"), str(small_corpus)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert summary_counts(result.stderr) == (2, 0, 0, 0, 0)
    again = runner.invoke(main, ["ingest", "--index", str(tmp_path / "index"), str(small_corpus)])
    assert again.exit_code == 0
    assert summary_counts(again.stderr) == (0, 0, 2, 0, 0)


def test_ingest_with_a_bad_file_exits_1_and_keeps_the_good_ones(runner, tmp_path, small_corpus):
    (small_corpus / "rong.txt").write_bytes(b"")
    (small_corpus / "hong.jsonl").write_text('{"id": "x", "title": "Bản ghi\n', encoding="utf-8")
    index = str(tmp_path / "index")
    result = runner.invoke(main, ["ingest", "--index", index, str(small_corpus)])
    assert result.exit_code == 1
    failed = [line for line in result.stderr.splitlines() if line.startswith("failed: ")]
    assert [line.split(": ")[1] for line in failed] == [
        str(small_corpus / "hong.jsonl"), str(small_corpus / "rong.txt")]
    assert "empty" in failed[1] and "line 1" in failed[0]
    assert summary_counts(result.stderr) == (2, 0, 0, 0, 2)
    assert result.stderr.splitlines()[-1] == (
        "Error: 2 files could not be indexed (listed above); the other 2 files were indexed")
    found = runner.invoke(main, ["search", "--index", index, "--json", "sân bóng"])
    assert [h["id"] for h in json.loads(found.stdout)["hits"]] == ["san-bong.txt"]


@pytest.mark.parametrize("good, bad, sentence", [
    (1, 1, "1 file could not be indexed (listed above); the other file was indexed"),
    (0, 1, "1 file could not be indexed (listed above); there were no other files"),
    (0, 2, "2 files could not be indexed (listed above); there were no other files"),
])
def test_the_failure_sentence_is_whole(runner, tmp_path, good, bad, sentence):
    """It once ended "...; the other files were"."""
    folder = tmp_path / "corpus"
    folder.mkdir()
    for n in range(good):
        (folder / f"tot-{n}.txt").write_text("Họp tổ dân phố\n\nNội dung cuộc họp.\n",
                                             encoding="utf-8")
    for n in range(bad):
        (folder / f"rong-{n}.txt").write_bytes(b"")
    result = runner.invoke(main, ["ingest", "--index", str(tmp_path / "index"), str(folder)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == f"Error: {sentence}"


def test_ingest_of_a_missing_path_is_an_error(runner, tmp_path):
    missing = tmp_path / "khong-co"
    result = runner.invoke(main, ["ingest", "--index", str(tmp_path / "index"), str(missing)])
    assert result.exit_code != 0
    assert result.stderr == f"Error: no such file or folder: {missing}\n"


# -- search ------------------------------------------------------------------------------------

def test_search_prints_results(runner, ward_index):
    result = runner.invoke(main, ["search", "--index", str(ward_index), "Khánh"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"1 kết quả \(\d+ ms\)", lines[0])
    assert lines[1:] == [
        " 1. Khánh thành sân chơi thiếu nhi tổ dân phố số 9 phường Phúc Lợi  "
        "[articles/san-choi-nfd.txt]",
        "    2023-06-01",
    ]


def test_search_prints_ranked_results_with_their_numbers(runner, ward_index):
    result = runner.invoke(main, ["search", "--index", str(ward_index), "--limit", "2",
                                  "15 nq đu"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert re.fullmatch(r"\d+ kết quả \(\d+ ms\)", lines[0])
    assert lines[1:] == [
        " 1. Nghị quyết về công tác cán bộ nhiệm kỳ 2020-2025  [nq-15-du]",
        "    15/NQ-ĐU · Nghị quyết · 2021-03-15",
        " 2. Kế hoạch thực hiện nghị quyết của Đảng bộ về cán bộ  [kh-22]",
        "    22/KH-UBND · Kế hoạch · 2021-04-01",
    ]


def test_search_suggests_diacritics(runner, ward_index):
    result = runner.invoke(main, ["search", "--index", str(ward_index), "tuyen", "duongg"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1] == "Có phải bạn muốn tìm: tuyên dương"


def test_search_json(runner, ward_index):
    result = runner.invoke(main, ["search", "--index", str(ward_index), "--json", "Khánh thành"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"query", "normalized_query", "total", "page", "per_page", "took_ms",
            "hits"} <= set(data)
    assert (data["query"], data["normalized_query"], data["page"], data["per_page"]) == (
        "Khánh thành", "khanh thanh", 1, 10)
    first = data["hits"][0]
    assert HIT_KEYS <= set(first)
    assert {k: first[k] for k in ("id", "title", "category", "published", "views")} == {
        "id": "articles/san-choi-nfd.txt",
        "title": "Khánh thành sân chơi thiếu nhi tổ dân phố số 9 phường Phúc Lợi",
        "category": "TIN TỨC - SỰ KIỆN", "published": "2023-06-01T08:00", "views": 75}


@pytest.mark.parametrize("limit, count", [("1", 1), ("2", 2), ("3", 3)])
def test_search_limit(runner, ward_index, limit, count):
    result = runner.invoke(main, ["search", "--index", str(ward_index), "--json", "--limit",
                                  limit, "phuc loi"])
    assert [h["id"] for h in json.loads(result.stdout)["hits"]] == [
        h["id"] for h in _json_search(runner, ward_index, "phuc loi")["hits"]][:count]


def _json_search(runner, index, q):
    return json.loads(runner.invoke(main, ["search", "--index", str(index), "--json", q]).stdout)


def test_search_internal_needs_the_flag(runner, ward_index):
    plain = _json_search(runner, ward_index, "Sen Vàng")
    assert plain["hits"] == []
    result = runner.invoke(main, ["search", "--index", str(ward_index), "--internal", "--json",
                                  "Sen Vàng"])
    assert [h["id"] for h in json.loads(result.stdout)["hits"]] == ["noi-bo-nhan-su"]


def test_index_from_the_environment(runner, ward_index, tmp_path):
    result = runner.invoke(main, ["search", "--json", "Khánh"],
                           env={"SEARCH_INDEX_DIR": str(ward_index)})
    assert result.exit_code == 0, result.output
    assert [h["id"] for h in json.loads(result.stdout)["hits"]] == ["articles/san-choi-nfd.txt"]


def test_index_option_wins_over_the_environment(runner, ward_index, tmp_path):
    result = runner.invoke(main, ["search", "--index", str(ward_index), "--json", "Khánh"],
                           env={"SEARCH_INDEX_DIR": str(tmp_path / "khong-co")})
    assert result.exit_code == 0, result.output
    assert [h["id"] for h in json.loads(result.stdout)["hits"]] == ["articles/san-choi-nfd.txt"]


def test_search_on_a_missing_index_is_an_error(runner, tmp_path):
    missing = tmp_path / "khong-co"
    result = runner.invoke(main, ["search", "--index", str(missing), "phuc loi"])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: no index at {missing}: the folder does not exist; "
                             "run `ingest` first\n")
    assert not missing.exists()


def test_search_on_an_empty_folder_is_an_error_and_writes_nothing(runner, tmp_path):
    """A mistyped --index pointing at some other folder must not get an index created in it."""
    folder = tmp_path / "tai-lieu"
    folder.mkdir()
    result = runner.invoke(main, ["search", "--index", str(folder), "phuc loi"])
    assert result.exit_code == 1
    assert result.stderr == (f"Error: no index at {folder}: the folder is empty (is the disk "
                             "mounted?); run `ingest` first\n")
    assert list(folder.iterdir()) == []


def test_query_over_1000_characters_is_refused(runner, ward_index):
    result = runner.invoke(main, ["search", "--index", str(ward_index), "a" * 1001])
    assert result.exit_code == 1
    assert result.stderr == ("Error: the query is longer than 1,000 characters, the limit set "
                             "by SEARCH_MAX_QUERY_CHARS\n")
    assert runner.invoke(main, ["search", "--index", str(ward_index), "a" * 1000]).exit_code == 0


@pytest.mark.parametrize("limit, shown", [("50", "50"), ("12000", "12,000")])
def test_the_query_limit_message_says_the_configured_limit(runner, ward_index, limit, shown):
    env = {"SEARCH_MAX_QUERY_CHARS": limit}
    too_long = "a" * (int(limit) + 1)
    result = runner.invoke(main, ["search", "--index", str(ward_index), too_long], env=env)
    assert result.exit_code == 1
    assert result.stderr == (f"Error: the query is longer than {shown} characters, the limit "
                             "set by SEARCH_MAX_QUERY_CHARS\n")
    fits = runner.invoke(main, ["search", "--index", str(ward_index), too_long[:-1]], env=env)
    assert fits.exit_code == 0, fits.output


def test_a_setting_that_is_not_a_number_is_an_error(runner, ward_index):
    result = runner.invoke(main, ["search", "--index", str(ward_index), "phuc loi"],
                           env={"SEARCH_MAX_QUERY_CHARS": "nghìn"})
    assert result.exit_code == 1
    assert result.stderr == ("Error: a setting is not usable: SEARCH_MAX_QUERY_CHARS='nghìn': "
                             "invalid literal for int() with base 10: 'nghìn'\n")


def test_ingest_names_a_time_budget_setting_that_is_not_a_number(runner, tmp_path):
    (tmp_path / "tin.txt").write_text("Tin tức phường", encoding="utf-8")
    result = runner.invoke(main, ["ingest", "--index", str(tmp_path / "index"),
                                  "--max-file-mb", "5", str(tmp_path / "tin.txt")],
                           env={"SEARCH_MAX_SECONDS_PER_FILE": "một phút"})
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: a setting is not usable: "
                                    "SEARCH_MAX_SECONDS_PER_FILE='một phút'")
    assert not (tmp_path / "index").exists()


def test_python_dash_m_entry_point(ward_index):
    """The real process, as a clerk runs it, with the index chosen by the environment."""
    env = {**os.environ, "SEARCH_INDEX_DIR": str(ward_index), "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "search_service", "search", "--json",
                           "ho chi minh"], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, encoding="utf-8", timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["hits"][0]["id"] == ARTICLE_ID


def test_ingest_with_a_worker_process(tmp_path):
    """`--workers 1` as a clerk runs it: a spawned worker process indexes part of the
    documents into its own segment of the same commit."""
    from search_service.index.schema import open_index

    source = tmp_path / "tin.jsonl"
    source.write_text("".join(json.dumps({
        "id": f"tin-{n}", "title": f"Tổ dân phố số {n} ra quân vệ sinh môi trường",
        "body": "Ngày chủ nhật xanh, tổ dân phố tổng vệ sinh đường ngõ, khơi thông cống rãnh. "
                f"Thôn {n} tham gia đông đủ."}, ensure_ascii=False) + "\n" for n in range(200)),
        encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-m", "search_service", "ingest", "--index",
                           str(tmp_path / "ix"), "--workers", "1", str(source)], cwd=REPO_ROOT,
                          env=env, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert done.returncode == 0, done.stderr
    assert summary_counts(done.stderr) == (200, 0, 0, 0, 0)
    ix = open_index(tmp_path / "ix")
    assert ix.doc_count() == 200
    assert len(ix._segments()) == 2


def test_ingest_workers_must_not_be_negative(runner, tmp_path, small_corpus):
    result = runner.invoke(main, ["ingest", "--index", str(tmp_path / "ix"), "--workers", "-1",
                                  str(small_corpus)])
    assert result.exit_code == 2
    assert "--workers" in result.output
    assert not (tmp_path / "ix").exists()

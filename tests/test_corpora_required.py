"""A missing corpus skips outside CI and fails in CI, so a CI run can never pass without
../shared/corpora."""
import corpora
import pytest

pytestmark = pytest.mark.db_independent  # pure logic: the PostgreSQL run skips it


def test_missing_corpus_fails_in_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="missing"):
        corpora.require(tmp_path / "nothing")
    with pytest.raises(pytest.fail.Exception, match="missing"):
        corpora.missing_param("nothing", tmp_path / "nothing")


def test_missing_corpus_skips_outside_ci(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="missing"):
        corpora.require(tmp_path / "nothing")
    assert corpora.missing_param("nothing", tmp_path / "nothing").marks[0].name == "skip"


def test_the_corpora_are_here_in_ci():
    if corpora.in_ci():
        for name in ("ham", "mime-flanker", "mime-mime4j", "xss-dompurify"):
            assert (corpora.CORPORA / name).is_dir(), name
    else:
        corpora.require(corpora.CORPORA)

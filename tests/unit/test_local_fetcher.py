"""What WeasyPrint may load for a document: data: URLs and the templates' own files only."""

from __future__ import annotations

import pytest

from prichal.adapters.pdf_html import LocalFetcher


@pytest.fixture
def fetcher(tmp_path):
    (tmp_path / "ours").mkdir()
    (tmp_path / "ours" / "logo.txt").write_text("logo")
    (tmp_path / "secret.txt").write_text("secret")
    (tmp_path / "ours" / "link.txt").symlink_to(tmp_path / "secret.txt")
    return LocalFetcher(tmp_path / "ours")


def test_data_urls_and_files_of_the_folder_are_fetched(fetcher, tmp_path):
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"
    assert fetcher.fetch((tmp_path / "ours" / "logo.txt").as_uri()).read() == b"logo"


@pytest.mark.parametrize("url", [
    "file:///etc/passwd", "file://{root}/secret.txt", "file://{root}/ours/../secret.txt",
    "file://{root}/ours/link.txt", "file://otherhost{root}/ours/logo.txt",
    "http://127.0.0.1:9/x.png", "https://example.com/x.png", "ftp://example.com/x", "jar:file:///x!/y",
])
def test_everything_else_is_refused_before_it_is_opened(fetcher, tmp_path, url):
    with pytest.raises(ValueError, match="not allowed in documents"):
        fetcher.fetch(url.format(root=tmp_path))

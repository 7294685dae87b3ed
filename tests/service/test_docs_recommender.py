"""docs/recommenders.md's own-recommender example works as written."""

import json
import re
import sys

from botify.recommenders import build_chain
from tests.conftest import ROOT


def test_the_docs_example_recommender_plugs_in_by_import_path(tmp_path, loaded, monkeypatch):
    readme = (ROOT / "docs" / "recommenders.md").read_text()
    code = re.search(r"```python\n# my_recs.py\n(.*?)```", readme, re.S).group(1)
    link = json.loads(re.search(r'"T1": \[(\{"recommender": "my_recs:[^\n]*\})\]', readme).group(1))
    (tmp_path / "my_recs.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    _, data = loaded()
    chain = build_chain([link], data, "README")
    # Track 7's artist has tracks 5..9; skip_first drops 5, ranked takes the first of the rest.
    assert chain.recommend(1, 7, 0.5) == (6, "my_recs:SameArtistFirstTrack")
    sys.modules.pop("my_recs", None)

import datetime as dt
import re

from pipeline import dedup
from pipeline.dedup import content_hash, find_duplicates, minhash, similarity

STORY = (
    "Russia launched 90 drones and four missiles at Ukraine overnight, the air force said, "
    "hitting energy facilities in the Odesa and Mykolaiv regions. Two people were injured in Odesa, "
    "regional governor Oleh Kiper said on Telegram, and a warehouse caught fire. Talks between the "
    "delegations are due to resume in Geneva next week, a spokesperson for the foreign ministry said. "
    "Ukraine's air defences shot down 71 of the drones, according to the military."
)
OTHER = (
    "The European Union agreed a new package of sanctions on Russian oil exports on Thursday, "
    "after weeks of negotiations between member states over price caps and shipping insurance, "
    "diplomats in Brussels said, adding that the measures would take effect next month."
)


def test_content_hash_ignores_case_and_spacing():
    assert content_hash("A  b\n\nC") == content_hash("a b c")
    assert content_hash("a b c") != content_hash("a b d")


def test_minhash_is_deterministic_and_similarity_tracks_overlap():
    assert (minhash(STORY) == minhash(STORY)).all()
    assert similarity(minhash(STORY), minhash(STORY)) == 1.0
    assert similarity(minhash(STORY), minhash(OTHER)) < 0.1


def _dups(bodies, dates=None):
    ids = [f"id{i}" for i in range(len(bodies))]
    dates = dates or [dt.date(2026, 1, 1)] * len(bodies)
    signatures = [minhash(b).tobytes() for b in bodies]
    return find_duplicates(ids, [content_hash(b) for b in bodies], signatures, list(zip(dates, ids, strict=True)))


def test_exact_copy_points_at_the_earlier_article():
    later, earlier = dt.date(2026, 1, 2), dt.date(2026, 1, 1)
    assert _dups([STORY, STORY.upper()], [later, earlier]) == ["id1", None]


def test_republished_wire_story_is_a_near_duplicate():
    republished = "Let's dive into the details. " + STORY.replace("the air force said", "Ukraine's air force said")
    assert _dups([STORY, republished, OTHER]) == [None, "id0", None]


def test_different_articles_are_not_duplicates():
    assert _dups([STORY, OTHER]) == [None, None]


def test_groups_of_copies_share_one_original():
    assert _dups([STORY, STORY + " Updated.", STORY]) == [None, "id0", "id0"]


def test_a_signature_is_the_smallest_permuted_hash_of_the_shingles_digests():
    # the definition, one shingle and one permutation at a time (the cache of earlier runs relies on it)
    import hashlib

    body = "Drones struck Kharkiv overnight, the governor said; 12 people were injured in the city."
    words = re.findall(r"\w+", body.casefold())
    shingles = {" ".join(words[i : i + dedup.SHINGLE_WORDS]) for i in range(len(words) - dedup.SHINGLE_WORDS + 1)}
    digests = [int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little") for s in shingles]
    expected = [
        min((d * int(mult) + int(add)) % 2**64 for d in digests)
        for mult, add in zip(dedup._MULT, dedup._ADD, strict=True)
    ]
    assert dedup.minhash(body).tolist() == expected

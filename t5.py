import sys
import pandas as pd
from tests.extract_helpers import extract
import pipeline.extract.talks as T
orig=T._sentence_mentions
def sm(view, sv, meetings):
    r=orig(view,sv,meetings)
    if r: print("  M", repr(sv.text[:90]), [(m.venue and m.venue.get("name"), m.status, m.start, sorted(m.parties), m.extends, m.definite) for m in r])
    return r
T._sentence_mentions=sm
a=pd.read_parquet(sys.argv[1]+'/articles')
r=a[a.source_file.str.contains(sys.argv[2])].iloc[0]
for x in extract(r.body, r.published.date() if hasattr(r.published,'date') else r.published, list(r.topics))[1]:
    print(x["venue"], x["start_date"], x["end_date"], x["status"], x["parties"])
oa=T._about_this_war
def ab(view,m):
    r=oa(view,m); print("  about", m.venue and m.venue.get("name"), m.start, sorted(m.statuses) if hasattr(m,'statuses') else None, sorted(m.parties), r, [s.text[:40] for s in m.sentences]); return r
T._about_this_war=ab
for x in extract(r.body, r.published.date() if hasattr(r.published,'date') else r.published, list(r.topics))[1]:
    pass

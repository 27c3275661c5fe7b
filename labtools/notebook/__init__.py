"""Helpers for the lab notebooks: prerequisites, saving and applying YAML, checking, pictures, Kiali.

Never imported by the CLI. Every helper returns an object that displays itself (HTML in JupyterLab, plain text
elsewhere) and never raises for a missing cluster: a cell that needs one says it is skipped, why, and what to run.

How to write a lab notebook (labs/<id>/<id>.ipynb, named after its lab)
=================================================

Cells, in this order:

1. Title (markdown): `# Lab 04 · Traffic splitting`, what the learner will be able to do, and a time estimate.
2. Prerequisites (the first code cell, always):

       from labtools.notebook import open_lab
       lab = open_lab("04")
       lab.prerequisites(needs={"Gateway/bookinfo-gateway": "02-gateway", "VirtualService/bookinfo": "03-virtual-service"})

   It reports the schemas, the cluster (or the one "Offline mode" notice: why, and the one fix; cells that skip
   point to it rather than repeating it), the lab's components and its setup/ objects,
   and objects earlier labs made (`needs`), each missing thing with the command that fixes it. `lab.apply_setup()`
   brings the namespace to the lab's starting state as `labtools reset <lab>` does (labtools.labstate), showing the
   plan first: it installs the samples the lab uses (httpbin, curl, fortio), applies labs/<id>/setup/, and deletes
   what this lab and later labs applied and earlier objects that would compete with the setup (lab 04's
   VirtualService reviews in lab 07). Say so in the markdown before that cell.
3. Concepts (markdown, our own words, the "why" before the "how"): what the lab teaches (docs/LABS.md).
4. A worked example: the YAML in a markdown code block, then every field explained (a table is fine). Use a
   neighbouring example, not the answer to the exercise.
5. The exercise: the task in markdown, then ONE cell

       %%apply --save <file>.yaml
       <the starter YAML, byte for byte the same as labs/<id>/exercise/<file>.yaml>

   It saves the learner's text as their answer (an earlier different version goes to exercise/.work/backups/),
   validates it against Istio's schemas (nothing is applied when one document is wrong) and applies it when a
   cluster answers. The starter has TODO comments and must FAIL the lab's checks (tests enforce both). A second
   file is a second cell. `%%apply --dry-run` validates only; `lab.apply(text_or_file, dry_run=...)` and
   `lab.write(name, text)` do the same from Python.
6. The check: `lab.check_button()` (grades now and on every click) or `lab.check()`; `check("04")` works anywhere.
   Live when a cluster answers (labtools.grading.live), else offline on the exercise files, saying which file and
   when it was saved; the page warns when the exercise cell differs from that file. The result lives in the
   button's own widget, so it is redrawn on every click, after a page reload too. Hints that spell out the answer's
   YAML wait behind "Show the answer", which marks the lab in progress as `labtools solve` does.
7. Looking at it: offline pictures come from the learner's own files, never from made-up data:
       lab.routes(["/productpage", "/admin"], gateway="bookinfo-gateway")    # rule met and destination, per request
       lab.routes([Request(host="reviews", headers={"end-user": "jason"})])   # Request from labtools.meshconfig
       split_bars(expected=lab.expected_split("reviews"))                      # the shares the YAML asks for
   Live ones skip themselves without a cluster, saying why:
       lab.traffic("/api/v1/products/0/reviews", n=100, show="versions", expected=...)  # bars grow as answers arrive
       lab.traffic(..., login="jason")                                 # productpage forwards end-user for a session
       lab.traffic("http://ratings:9080/ratings/0", from_pod="app=curl", headers={"end-user": "jason"})  # in the mesh
       lab.traffic("/api/v1/products/0/reviews", n=30, show="pods")  # which reviews pod answered (lab 05)
       lab.sidecars()                                                  # pods and whether they carry istio-proxy
   Anything else live goes through `lab.live(what, function)`: it calls function(probe) with a labtools.probes.Probe
   (see labtools/probes/__init__.py), or shows "Skipped: <what> needs your cluster" without one. Pictures of live
   data are drawn inside it, so that they skip too (`what` is a phrase like "timing 30 requests"):
       lab.live("timing 30 requests", lambda probe: latency_histogram(probe.ingress("/productpage", n=30,
                concurrency=5), timeout_s=3))
       lab.live("sending 60 requests with 3 connections", lambda probe: status_timeline(
                probe.from_client("http://httpbin:8000/get", n=60, concurrency=3)))
   A picture made of several parts is a `Group(...)`; rows of values are a `Table(headers, rows, title=...)`. Lab
   cells import from the packages' public faces (labtools.notebook, labtools.meshconfig, labtools.probes), never
   from their submodules.
8. Kiali: what to look at (markdown), then `lab.kiali_link()`.
9. Classic mistakes (markdown): the graded mistakes docs/LABS.md lists for the lab, and what the learner sees when they happen.
10. Recap (markdown): a few bullets.

What tests/notebooks enforces for every labs/<id>/<id>.ipynb (new notebooks are picked up automatically):
- committed without outputs, execution counts or widget state (`python -m labtools.notebook.clean labs/*/*.ipynb`);
- at least 600 words of markdown outside code blocks; headings "# Lab NN · Title", and ones containing "Kiali",
  "Classic mistakes" and "Recap";
- the first code cell calls open_lab("NN") and lab.prerequisites(); a check cell and lab.kiali_link() exist;
- code cells import nothing from a submodule of labtools' packages (labtools.notebook.views and the like);
- every `%%apply --save FILE` cell equals labs/<id>/exercise/FILE, contains TODO, and those files fail the lab's
  offline checks while being valid YAML;
- it runs top to bottom in a python3 kernel with no cluster and no Docker, without errors; every cell calling
  lab.traffic / lab.sidecars / lab.live / lab.setup_cluster shows a skip notice; the check cell answers;
- with solutions/<id>/FILE typed into the exercise cells, the check cell reports a pass.
An object the lab grades from the file only and that must never reach a cluster (lab 10's external DestinationRule)
goes in a `%%apply --dry-run --save FILE` cell. Lab 00 is the exception to 5-6: its setup cell is
`lab.setup_cluster()`, its exercise is a dry run, and it is graded live only. Write the text in our own words; facts
from Istio's documentation carry over, sentences do not.
"""

from labtools.meshconfig import Request
from labtools.notebook.pictures import SplitBars, latency_histogram, split_bars, status_timeline
from labtools.notebook.session import LabSession, check, open_lab
from labtools.notebook.views import Group, Table

__all__ = [
    "Group", "LabSession", "Request", "SplitBars", "Table", "check", "latency_histogram", "load_ipython_extension",
    "open_lab", "split_bars", "status_timeline",
]


def load_ipython_extension(shell) -> None:
    """`%load_ext labtools.notebook` registers the %%apply cell magic."""
    from labtools.notebook.magics import register

    register(shell)

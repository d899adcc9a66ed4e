"""The dashboard (issue 18) in a real headless Chromium against a real server
running a real workflow with a real worker: counts change as jobs complete
(pushed: the page neither reloads nor asks again), the DAG, the job table
with its filter, a failed job's stderr, resource use, cancel, and reset
failed + restart. The key keeps everyone else out. The screenshot it takes
is docs/dashboard.png (TORC_DASH_SCREENSHOT=1 writes it there)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright
from prometheus_client.parser import text_string_to_metric_families

from torc_grpc._pb import workflow_pb2 as wpb
from torc_grpc.auth import ClientAuth
from torc_grpc.auth import users as user_file
from torc_grpc.client import Stubs
from torc_grpc.testing import spawn_server, spawn_worker, wait_until

DOCS = Path(__file__).resolve().parents[2] / "docs"
WORK_JOBS = 40

LIVE_SPEC = f"""
name: live
description: a sweep with one broken job
jobs:
  - name: prep
    command: "true"
  - name: work_{{i}}
    command: sleep 0.4
    depends_on: [prep]
    parameters:
      i: "1:{WORK_JOBS}"
  - name: collect
    command: "true"
    depends_on_regexes: ["^work_"]
  - name: broken
    command: echo "disk quota exceeded on /scratch" >&2; exit 3
"""
LONG_SPEC = """
name: long
jobs:
  - name: long_{i}
    command: sleep 300
    parameters:
      i: "1:4"
"""


def submit(served: str, folder: Path, text: str, token: str = "") -> int:
    spec = folder / "spec.yaml"
    spec.write_text(text)
    env = {**os.environ, "TORC_SERVER": served, **({"TORC_TOKEN": token} if token else {})}
    done = subprocess.run([sys.executable, "-m", "torc_grpc.cli", "submit", "--start", str(spec)], cwd=folder,
                          capture_output=True, text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


@contextlib.contextmanager
def dash_process(served: str, folder: Path, token: str = ""):
    """`torc-grpc dash --port 0` as a real process (with TORC_TOKEN when given);
    yields the address it printed; afterwards it must stop cleanly on SIGTERM."""
    env = {k: v for k, v in os.environ.items() if k != "TORC_TOKEN"}
    if token:
        env["TORC_TOKEN"] = token
    log = folder / f"dash{'-' + token[:6] if token else ''}.log"
    proc = subprocess.Popen([sys.executable, "-m", "torc_grpc.cli", "dash", "--server", served, "--port", "0"],
                            cwd=folder, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True, env=env)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        line = lines.get(timeout=60)
        assert line.startswith("TORC_DASH_URL="), line
        yield line.strip().split("=", 1)[1]
    finally:
        proc.terminate()
        assert proc.wait(30) == 0, log.read_text()


@pytest.fixture
def dash(served, tmp_path):
    with dash_process(served, tmp_path) as url:
        yield url


def http_status(url: str, headers=None, data=None) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}, data=data), timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def key_cookie(url: str) -> dict:
    return {"Cookie": f"torc_dash_key={url.split('key=')[1]}"}


@pytest.fixture
def browser(chromium_path):
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=["--no-sandbox", "--disable-gpu"])
        try:
            yield b
        finally:
            b.close()


def counts_on(page) -> dict:
    return page.eval_on_selector_all("[data-id=counts] li", "els => Object.fromEntries(els.map("
                                     "e => [e.dataset.status, Number(e.dataset.count)]))")


def test_live_counts_dag_jobs_failed_stderr_and_restart(served, dash, browser, tmp_path):
    wf = submit(served, tmp_path, LIVE_SPEC)
    total = WORK_JOBS + 3
    page = browser.new_page(viewport={"width": 1360, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(dash)  # sets the key's cookie and redirects to /
    page.wait_for_selector(f"tr[data-workflow='{wf}']")
    page.click(f"tr[data-workflow='{wf}']")
    page.wait_for_function("document.body.dataset.state === 'running'")
    page.wait_for_selector("svg.dag g.node")
    # More jobs than the page draws one by one: grouped by name, work_1 ... work_40 as work_*.
    nodes = page.eval_on_selector_all("svg.dag g.node", "els => els.map(e => [e.querySelector('text').textContent, "
                                      "Number(e.dataset.jobs)])")
    assert sorted((label, jobs) for label, jobs in nodes) == [
        ("broken", 1), ("collect", 1), ("prep", 1), ("work_*", WORK_JOBS)], nodes
    assert counts_on(page) == {"ready": 2, "blocked": total - 2}
    page.evaluate("window.__sameDocument = true")
    before = len(requests)

    worker = spawn_worker(served, wf, tmp_path / "w", "--cpus", "2", "--memory", "1g")
    try:
        page.wait_for_function("Number((document.querySelector('[data-status=completed]') || {dataset: {}})"
                               ".dataset.count || 0) >= 10", timeout=60_000)
        # The graph follows the pushed counts too: work_* shows its completed jobs.
        page.wait_for_function("[...document.querySelectorAll('svg.dag g.node')].some(g => "
                               "g.textContent.startsWith('work_*') && g.textContent.includes('completed'))",
                               timeout=60_000)
        shot = page.screenshot(full_page=True)
        assert shot[:8] == b"\x89PNG\r\n\x1a\n" and len(shot) > 20_000
        (tmp_path / "dashboard.png").write_bytes(shot)
        if os.environ.get("TORC_DASH_SCREENSHOT"):
            (DOCS / "dashboard.png").write_bytes(shot)
        page.wait_for_function("document.body.dataset.state === 'complete'", timeout=120_000)
        assert worker.wait(60) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
    assert page.evaluate("window.__sameDocument") is True  # never reloaded
    assert counts_on(page) == {"completed": total - 1, "failed": 1}
    live = [u for u in requests[before:] if "/api/" in u]
    assert sum(u.endswith(f"/api/workflows/{wf}/events") for u in live) == 0  # the one feed opened before
    assert not any(u.endswith(f"/api/workflows/{wf}") for u in live)  # and nothing asked for the counts again
    assert sum(u.endswith(f"/api/workflows/{wf}/events") for u in requests) == 1

    # The failed job and its stderr, read from the worker's output directory.
    box = page.locator("[data-failed-job]")
    wait_until(lambda: box.count() == 1, 30, what="the failed job listed")
    box.locator("summary").click()
    page.wait_for_function("document.querySelector('pre.stderr').textContent.includes('disk quota exceeded')")

    # The job table: filter by status, then one job's resource use.
    page.select_option("[data-id=filter]", "failed")
    page.wait_for_function("document.querySelectorAll('[data-id=jobs] tr').length === 1")
    page.select_option("[data-id=filter]", "completed")
    page.wait_for_function("document.querySelectorAll('[data-id=jobs] tr').length === 20")  # a page
    page.click("[data-id=next]")
    page.wait_for_function("document.querySelector('[data-id=page]').textContent === 'page 2'")
    page.click("[data-id=next]")
    page.wait_for_function(f"document.querySelectorAll('[data-id=jobs] tr').length === {total - 1 - 40}")
    assert page.is_disabled("[data-id=next]")
    page.click("[data-id=jobs] tr:first-child")
    page.wait_for_selector("table.resource-use tbody tr")
    assert "completed" in page.inner_text("table.resource-use")

    # Reset failed + restart: the run goes on (pushed again through a new feed).
    page.click("[data-id=restart]")
    page.wait_for_function("document.querySelector('[data-id=message]').textContent.includes('run 2 started')")
    page.wait_for_function("document.body.dataset.state === 'running'")
    assert counts_on(page) == {"completed": total - 1, "ready": 1}


def test_cancel_from_the_page(served, dash, browser, tmp_path):
    wf = submit(served, tmp_path, LONG_SPEC)
    worker = spawn_worker(served, wf, tmp_path / "w", "--cpus", "2", "--memory", "1g")
    try:
        page = browser.new_page()
        page.goto(dash)
        page.wait_for_selector(f"tr[data-workflow='{wf}']")
        page.goto(dash.split("?")[0] + f"#/workflow/{wf}")
        page.wait_for_function("(document.querySelector('[data-status=running]') || {dataset: {}})"
                               ".dataset.count === '2'", timeout=60_000)
        page.once("dialog", lambda d: d.accept())
        page.click("[data-id=cancel]")
        page.wait_for_function("document.body.dataset.state === 'canceled'", timeout=60_000)
        assert page.is_disabled("[data-id=cancel]")
        stubs = Stubs.connect(served)
        assert stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=wf)).is_canceled
        stubs.channel.close()
        assert worker.wait(60) in (0, 2)  # the worker stops its jobs and leaves
        shown = counts_on(page)  # running and claimed jobs canceled; ready ones stay (torc's cancel)
        assert shown.get("canceled", 0) >= 2 and sum(shown.values()) == 4
        assert not {"running", "pending"} & set(shown), shown
    finally:
        if worker.poll() is None:
            worker.kill()


def test_the_key_keeps_others_out(served, dash, tmp_path):
    base, cookie = dash.split("?")[0], key_cookie(dash)
    assert http_status(base + "api/workflows", cookie)[0] == 200
    assert http_status(base + "api/workflows")[0] == 403  # no key
    assert http_status(base)[0] == 403
    assert http_status(base + "static/dash.js")[0] == 403
    assert http_status(base + "?key=wrong")[0] == 403
    assert http_status(base + "api/workflows", {"Cookie": "torc_dash_key=wrong"})[0] == 403
    assert http_status(base + "api/workflows", {**cookie, "Host": "evil.example:80"})[0] == 403  # DNS rebinding
    wf = submit(served, tmp_path, LONG_SPEC)
    assert http_status(base + f"api/workflows/{wf}/cancel", cookie, data=b"")[0] == 403  # no action header
    assert http_status(base + f"api/workflows/{wf}/cancel", {**cookie, "x-torc-dash": "1"}, data=b"")[0] == 200
    assert http_status(base + "api/workflows/999/jobs", cookie)[0] == 404
    assert http_status(base + f"api/workflows/{wf}/jobs?status=nonsense", cookie)[0] == 400
    # Careless or hostile queries: a clear 4xx each, never a 500, and the dashboard lives on.
    for query in (f"api/workflows/{wf}/jobs?after_id=99999999999999999999999", f"api/workflows/{wf}/jobs?after_id=-3",
                  f"api/workflows/{wf}/jobs?limit=abc", f"api/workflows/{wf}/jobs?status=failed%00",
                  f"api/workflows/{wf}/graph?max_nodes=10001", f"api/workflows/{wf}/graph?max_nodes=nan",
                  "api/workflows/0", "api/workflows/4611686018427387904", "api/jobs/0/stderr"):
        assert http_status(base + query, cookie)[0] in (400, 404), query
    page = json.loads(http_status(base + f"api/workflows/{wf}/jobs?limit=0", cookie)[1])  # kept to 1..20
    assert len(page["jobs"]) == 1 and page["next_after_id"]
    assert http_status(base + "api/workflows", cookie)[0] == 200


def test_it_acts_with_the_users_token(tmp_path):
    """With auth on, the dashboard is its user: it lists and acts on what that user
    may, and nothing else; without a token the server says so."""
    path = str(tmp_path / "users.json")
    alice, bob = user_file.add(path, "alice"), user_file.add(path, "bob")
    server, port = spawn_server(str(tmp_path / "auth.db"), tmp_path / "server.log", "--auth-file", path)
    served = f"127.0.0.1:{port}"
    try:
        mine = submit(served, tmp_path, LONG_SPEC, token=alice)
        theirs = submit(served, tmp_path, LONG_SPEC.replace("name: long", "name: bobs"), token=bob)
        with dash_process(served, tmp_path, alice) as url:
            base, cookie = url.split("?")[0], key_cookie(url)
            status, body = http_status(base + "api/workflows", cookie)
            assert status == 200 and [(w["id"], w["user"]) for w in json.loads(body)] == [(mine, "alice")]
            assert http_status(base + f"api/workflows/{theirs}", cookie)[0] in (403, 404)
            act = {**cookie, "x-torc-dash": "1"}
            assert http_status(base + f"api/workflows/{theirs}/cancel", act, data=b"")[0] in (403, 404)
            assert http_status(base + f"api/workflows/{mine}/cancel", act, data=b"")[0] == 200
        with dash_process(served, tmp_path) as url:  # no token
            assert http_status(url.split("?")[0] + "api/workflows", key_cookie(url))[0] == 401
        stubs = Stubs.connect(served, auth=ClientAuth(token=bob))
        assert not stubs.workflow.GetWorkflowStatus(wpb.GetWorkflowStatusRequest(workflow_id=theirs)).is_canceled
        stubs.channel.close()
    finally:
        server.terminate()
        server.wait(60)


def test_a_closed_page_leaves_no_server_stream(browser, tmp_path):
    """Each open page holds two server streams (counts, warnings); closing the page,
    or leaving the workflow, ends both (scraped from the server's own gauge)."""
    server, port = spawn_server(str(tmp_path / "m.db"), tmp_path / "server.log", "--metrics-port", "0")
    served = f"127.0.0.1:{port}"
    try:
        log = tmp_path / "server.log"
        metrics = int(wait_until(lambda: re.search(r"metrics on 127.0.0.1:(\d+)", log.read_text()), 30).group(1))

        def open_streams() -> float:
            text = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/metrics", timeout=10).read().decode()
            return next(s.value for f in text_string_to_metric_families(text) if f.name == "torc_open_streams"
                        for s in f.samples)

        wf = submit(served, tmp_path, LONG_SPEC)
        assert open_streams() == 0
        with dash_process(served, tmp_path) as url:
            page = browser.new_page()
            page.goto(url)
            page.goto(url.split("?")[0] + f"#/workflow/{wf}")
            page.wait_for_function("document.body.dataset.state === 'running'")
            wait_until(lambda: open_streams() == 2, 30, what="the page's two streams")
            page.goto(url.split("?")[0] + "#/")  # leaving the workflow closes its feed
            wait_until(lambda: open_streams() == 0, 30, what="both streams ended")
            page.goto(url.split("?")[0] + f"#/workflow/{wf}")
            wait_until(lambda: open_streams() == 2, 30, what="the streams again")
            page.close()  # the tab goes away
            wait_until(lambda: open_streams() == 0, 30, what="both streams ended with the tab")
    finally:
        server.terminate()
        server.wait(60)

"""The microtask pages: posting holds exactly reward x n + fee, bulk review pays each
worker exactly in one call, refusals are shown beside the field with nothing moved,
nobody acts on someone else's task or assignment, CSRF, operators decide disputes."""

from __future__ import annotations

import re

import pytest

from obolo.entrypoints.web.task_pages import from_ns_local
from obolo.identity.model import Role
from obolo.settings import FeeRule, Settings
from obolo.wallets.model import PlatformAccount
from tests.web_support import Browser, errors_on, make_platform, money_snapshot, top_up_form

# 10% on top for the employer, 5% taken from the reward: 0.50 → hold 0.55, worker 0.475.
SETTINGS = Settings(task_fee=FeeRule(1000, 0), task_payout_fee=FeeRule(500, 0))
HOLD, PAYOUT = 550_000, 475_000


@pytest.fixture
def platform(db_url, clock):
    yield from make_platform(db_url, clock, SETTINGS)


def person(platform, email: str, role: Role | None, top_up: str | None = None) -> Browser:
    browser = Browser(platform)
    browser.user_id = browser.sign_up(email, email.split("@")[0].title())
    if role is not None:
        platform.identity.add_role(browser.user_id, role)
    if top_up:
        assert top_up_form(browser, top_up).status_code == 303
    return browser


@pytest.fixture
def ann(platform):
    """An employer with 10.00 EUR."""
    return person(platform, "ann@example.com", Role.EMPLOYER, "10.00")


@pytest.fixture
def workers(platform):
    return [person(platform, f"w{i}@example.com", Role.WORKER) for i in range(3)]


def wallet(platform, user_id) -> tuple[int, int]:
    """(available, reserved) in EUR."""
    for b in platform.wallets.balances(user_id):
        if b.asset == "EUR":
            return b.available, b.reserved
    return 0, 0


def revenue(platform) -> int:
    (account,) = platform.ledger.lookup_accounts([PlatformAccount.FEE_REVENUE.account_id("EUR")])
    return account.balance


def post_form(browser: Browser, clock, **changes: str):
    values = {
        "title": "Is there a cat?",
        "instructions": "Look at the picture.\nAnswer yes or no.",
        "reward": "0,50",
        "asset": "EUR",
        "assignments": "3",
        "minutes": "10",
        "deadline": from_ns_local(clock() + 2 * 86_400 * 10**9),
        "auto_hours": "72",
        "min_rate": "0",
        "min_approved": "0",
        **changes,
    }
    return browser.submit("/tasks/employer", "/tasks/employer/post", values)


def post_task(browser: Browser, clock, **changes: str) -> str:
    answer = post_form(browser, clock, **changes)
    assert answer.status_code == 303, answer.text
    return re.match(r"/tasks/employer/([0-9a-f-]{36})\?done=posted", answer.headers["location"]).group(1)


def accept_and_submit(worker: Browser, task_id: str, answer: str = "yes") -> str:
    taken = worker.submit("/tasks/work", f"/tasks/work/{task_id}/accept", {})
    assert taken.status_code == 303, taken.text
    assignment_id = re.match(r"/tasks/work/assignments/([0-9a-f-]{36})", taken.headers["location"]).group(1)
    page = f"/tasks/work/assignments/{assignment_id}"
    done = worker.submit(page, f"{page}/submit", {"answer": answer})
    assert done.status_code == 303, done.text
    return assignment_id


def review(employer: Browser, task_id: str, picked: list[str], action: str, reason: str = ""):
    page = f"/tasks/employer/{task_id}"
    return employer.submit(page, f"{page}/review", {"pick": picked, "action": action, "reason": reason})


def test_posting_through_the_form_holds_exactly_reward_times_assignments_plus_fee(ann, platform, clock):
    """0,50 x 3 with a 10% fee holds exactly 1.65 EUR, shown on the employer's pages."""
    task_id = post_task(ann, clock)
    assert wallet(platform, ann.user_id) == (10_000_000 - 3 * HOLD, 3 * HOLD)
    detail = ann.get(f"/tasks/employer/{task_id}")
    assert detail.status_code == 200
    assert re.search(rf'data-held="{task_id}">([^<]+)<', detail.text).group(1) == "€1.65"
    listing = ann.get("/tasks/employer")
    assert task_id in listing.text
    assert "€1.65" in listing.text


def test_a_double_submitted_post_form_holds_once(ann, platform, clock):
    """The form's key makes a re-sent form post the task (and hold its money) once."""
    key = "6f1c1b2e-8d7a-4c3b-9a55-0e2f3c4d5e6f"
    first, second = post_task(ann, clock, key=key), post_task(ann, clock, key=key)
    assert first == second
    assert wallet(platform, ann.user_id)[1] == 3 * HOLD


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"reward": "abc"}, "reward"),
        ({"reward": "0.0000001"}, "reward"),
        ({"reward": "5.00"}, "reward"),  # 3 x 5.50 is more than the wallet holds
        ({"title": ""}, "title"),
        ({"assignments": "0"}, "assignments"),
        ({"assignments": "three"}, "assignments"),
        ({"minutes": "0"}, "minutes"),
        ({"deadline": "2001-01-01T00:00"}, "deadline"),
        ({"deadline": "soon"}, "deadline"),
        ({"auto_hours": "9999"}, "auto_hours"),
        ({"min_rate": "101"}, "min_rate"),
    ],
)
def test_a_refused_task_shows_the_error_beside_its_field_and_holds_nothing(
    ann, platform, clock, changes, field
):
    """Each bad field is named beside it (422) and no money is held, no task created."""
    before = money_snapshot(platform)
    answer = post_form(ann, clock, **changes)
    assert answer.status_code == 422
    assert errors_on(answer.text) == [field]
    assert money_snapshot(platform) == before
    assert platform.tasks.list_tasks(ann.user_id, mine=True) == []


def test_workers_accept_submit_and_one_bulk_approval_pays_each_exactly(ann, workers, platform, clock):
    """Three answers approved with one form: each worker gains exactly 0.475, the employer
    pays exactly 3 x 0.55, the platform keeps 3 x 0.075."""
    task_id = post_task(ann, clock)
    clock.advance(120)
    picked = [accept_and_submit(w, task_id, f"yes {i}") for i, w in enumerate(workers)]
    page = ann.get(f"/tasks/employer/{task_id}")
    assert all(f'value="{aid}"' in page.text for aid in picked)
    assert "yes 2" in page.text
    fee_before = revenue(platform)
    answer = review(ann, task_id, picked, "approve")
    assert answer.status_code == 303, answer.text
    for w in workers:
        assert wallet(platform, w.user_id) == (PAYOUT, 0)
    assert wallet(platform, ann.user_id) == (10_000_000 - 3 * HOLD, 0)
    assert revenue(platform) - fee_before == 3 * (HOLD - PAYOUT)
    mine = workers[0].get("/tasks/work")
    assert re.search(r'data-earned="EUR">([^<]+)<', mine.text).group(1) == "€0.475"
    assert re.search(r"data-rate>([^<]+)<", mine.text).group(1) == "100%"
    assert 'href="/wallet#withdraw-title"' in mine.text


def test_a_bulk_review_is_all_or_nothing(ann, workers, platform, clock):
    """A selection holding one already-reviewed answer is refused whole: nobody is paid."""
    task_id = post_task(ann, clock)
    picked = [accept_and_submit(w, task_id) for w in workers]
    assert review(ann, task_id, picked[:1], "approve").status_code == 303
    before = money_snapshot(platform)
    answer = review(ann, task_id, picked, "approve")
    assert answer.status_code == 422
    assert "Some of the chosen work was already reviewed; nothing was changed." in answer.text
    assert money_snapshot(platform) == before
    assert [a.status.value for a in platform.tasks.my_assignments(workers[1].user_id)] == ["submitted"]


def test_a_rejection_needs_a_reason_beside_the_field_and_moves_nothing(ann, workers, platform, clock):
    """Reject without a reason: the error is beside the reason field, nothing moves; with
    a reason, the holds go back to the employer and the worker sees why."""
    task_id = post_task(ann, clock)
    picked = [accept_and_submit(w, task_id) for w in workers[:2]]
    before = money_snapshot(platform)
    answer = review(ann, task_id, picked, "reject", "  ")
    assert answer.status_code == 422
    assert errors_on(answer.text) == ["reason"]
    assert money_snapshot(platform) == before
    assert review(ann, task_id, picked, "reject", "not a cat").status_code == 303
    assert wallet(platform, ann.user_id) == (10_000_000 - HOLD, HOLD)  # one slot still open
    assert wallet(platform, workers[0].user_id) == (0, 0)
    seen = workers[0].get(f"/tasks/work/assignments/{picked[0]}")
    assert "not a cat" in seen.text
    assert 'data-status="rejected"' in seen.text


def test_nothing_chosen_is_refused_without_a_call(ann, workers, platform, clock):
    """Pressing approve with no box ticked says so and moves nothing."""
    task_id = post_task(ann, clock)
    accept_and_submit(workers[0], task_id)
    before = money_snapshot(platform)
    answer = review(ann, task_id, [], "approve")
    assert answer.status_code == 422
    assert "Choose at least one submission of this task." in answer.text
    assert money_snapshot(platform) == before


def test_a_worker_cannot_see_or_act_on_another_workers_assignment(ann, workers, platform, clock):
    """Someone else's assignment is not found (404) to read, submit or dispute; nothing moves."""
    task_id = post_task(ann, clock)
    first, other = workers[0], workers[1]
    taken = first.submit("/tasks/work", f"/tasks/work/{task_id}/accept", {})
    assignment_id = taken.headers["location"].split("/")[-1].split("?")[0]
    assert other.get(f"/tasks/work/assignments/{assignment_id}").status_code == 404
    before = money_snapshot(platform)
    path = f"/tasks/work/assignments/{assignment_id}"
    assert other.submit("/tasks/work", f"{path}/submit", {"answer": "mine now"}).status_code == 404
    assert other.submit("/tasks/work", f"{path}/dispute", {"message": "pay me"}).status_code == 404
    assert money_snapshot(platform) == before
    assert platform.tasks.assignment(first.user_id, assignment_id).status.value == "accepted"
    # The employer does not use the worker's page either.
    assert ann.get(path).status_code == 404


def test_an_employer_cannot_review_someone_elses_task(ann, workers, platform, clock):
    """Another employer gets 403 on the task's page, its review, bonus and cancel; nothing moves."""
    task_id = post_task(ann, clock)
    picked = [accept_and_submit(workers[0], task_id)]
    eve = person(platform, "eve@example.com", Role.EMPLOYER, "10.00")
    before = money_snapshot(platform)
    assert eve.get(f"/tasks/employer/{task_id}").status_code == 403
    path = f"/tasks/employer/{task_id}"
    approve = {"pick": picked, "action": "approve"}
    assert eve.submit("/tasks/employer", f"{path}/review", approve).status_code == 403
    bonus = {"assignment_id": picked[0], "amount": "1.00"}
    assert eve.submit("/tasks/employer", f"{path}/bonus", bonus).status_code == 403
    assert eve.submit("/tasks/employer", f"{path}/cancel", {}).status_code == 403
    assert money_snapshot(platform) == before
    # A worker, who is no employer at all, is refused the employer's forms.
    assert workers[1].submit("/tasks/work", f"{path}/cancel", {}).status_code == 403


def test_forms_without_a_csrf_token_are_refused_and_move_nothing(ann, workers, platform, clock):
    """Posting, reviewing, accepting and deciding without the token: 403, nothing moves."""
    task_id = post_task(ann, clock)
    picked = [accept_and_submit(workers[0], task_id)]
    before = money_snapshot(platform)
    refused = [
        ann.client.post("/tasks/employer/post", data={"title": "x", "reward": "1", "assignments": "1"}),
        ann.client.post(f"/tasks/employer/{task_id}/review", data={"pick": picked, "action": "approve"}),
        ann.client.post(f"/tasks/employer/{task_id}/cancel"),
        workers[1].client.post(f"/tasks/work/{task_id}/accept", data={"csrf": "forged"}),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403, 403]
    assert money_snapshot(platform) == before
    assert len(platform.tasks.list_tasks(ann.user_id, mine=True)) == 1


def test_bonus_and_cancel_through_the_forms_move_exact_amounts(ann, workers, platform, clock):
    """A 0.20 bonus costs the employer 0.22 and pays the worker 0.20; cancelling gives back
    the two untaken holds and keeps the submitted one."""
    task_id = post_task(ann, clock)
    aid = accept_and_submit(workers[0], task_id)
    path = f"/tasks/employer/{task_id}"
    paid = ann.submit(path, f"{path}/bonus", {"assignment_id": aid, "amount": "0,20", "bonus_reason": "fast"})
    assert paid.status_code == 303, paid.text
    assert wallet(platform, workers[0].user_id) == (200_000, 0)
    assert wallet(platform, ann.user_id) == (10_000_000 - 3 * HOLD - 220_000, 3 * HOLD)
    assert ann.submit(path, f"{path}/cancel", {}).status_code == 303
    assert wallet(platform, ann.user_id) == (10_000_000 - HOLD - 220_000, HOLD)
    refused = ann.submit(path, f"{path}/bonus", {"assignment_id": aid, "amount": "99"})
    assert refused.status_code == 422
    assert errors_on(refused.text) == ["amount"]


def test_the_worker_page_lists_work_they_qualify_for_with_pay_and_time_left(ann, workers, platform, clock):
    """Find work shows what one earns; an assignment shows the time left; a task asking for
    an approved record is not offered to a newcomer."""
    task_id = post_task(ann, clock)
    picky = post_task(ann, clock, title="Experts only", min_approved="5")
    page = workers[0].get("/tasks/work")
    assert f'data-open-task="{task_id}"' in page.text
    assert f'data-open-task="{picky}"' not in page.text
    assert "You earn €0.475" in page.text
    taken = workers[0].submit("/tasks/work", f"/tasks/work/{task_id}/accept", {})
    clock.advance(180)
    mine = workers[0].get("/tasks/work")
    assert "7 min left" in mine.text
    assert "7 min left" in workers[0].get(taken.headers["location"]).text


def test_a_worker_disputes_once_and_an_operator_overturns_it_and_pays(ann, workers, platform, clock):
    """The dispute goes to the operator's page; overturning pays the worker exactly 0.475."""
    task_id = post_task(ann, clock)
    aid = accept_and_submit(workers[0], task_id)
    review(ann, task_id, [aid], "reject", "wrong")
    path = f"/tasks/work/assignments/{aid}"
    assert workers[0].submit(path, f"{path}/dispute", {"message": "It is a cat."}).status_code == 303
    again = workers[0].submit("/tasks/work", f"{path}/dispute", {"message": "Again."})
    assert again.status_code == 422
    assert errors_on(again.text) == ["message"]
    olga = person(platform, "olga@example.com", None)
    platform.identity.grant_role("olga@example.com", Role.OPERATOR)
    listing = olga.get("/operator/disputes")
    assert listing.status_code == 200
    assert f'data-dispute="{aid}"' in listing.text
    assert "It is a cat." in listing.text
    assert 'href="/operator/disputes"' in olga.get("/operator").text
    decided = olga.submit("/operator/disputes", f"/operator/disputes/{aid}", {"decision": "overturn"})
    assert decided.status_code == 303
    assert wallet(platform, workers[0].user_id) == (PAYOUT, 0)
    twice = olga.submit("/operator/disputes", f"/operator/disputes/{aid}", {"decision": "overturn"})
    assert twice.status_code == 409
    assert wallet(platform, workers[0].user_id) == (PAYOUT, 0)


@pytest.mark.parametrize("role", [None, Role.EMPLOYER, Role.WORKER, Role.PROVIDER])
def test_the_disputes_page_is_for_operators_only(platform, role, ann, workers, clock):
    """Anyone but an operator gets 403 on the list and on a decision; nothing moves."""
    task_id = post_task(ann, clock)
    aid = accept_and_submit(workers[0], task_id)
    review(ann, task_id, [aid], "reject", "wrong")
    path = f"/tasks/work/assignments/{aid}"
    workers[0].submit(path, f"{path}/dispute", {"message": "It is a cat."})
    someone = person(platform, "someone@example.com", role)
    assert someone.get("/operator/disputes").status_code == 403
    before = money_snapshot(platform)
    decided = someone.submit("/wallet", f"/operator/disputes/{aid}", {"decision": "overturn"})
    assert decided.status_code == 403
    assert money_snapshot(platform) == before


def test_the_task_pages_render_in_italian(ann, workers, platform, clock):
    """With an Italian browser the employer's and worker's pages speak Italian, amounts too."""
    task_id = post_task(ann, clock)
    accept_and_submit(workers[0], task_id)
    italian = {"Accept-Language": "it-IT,it;q=0.9"}
    review_page = ann.get(f"/tasks/employer/{task_id}", headers=italian)
    assert "Consegne da rivedere" in review_page.text
    assert "Approva i selezionati" in review_page.text
    assert "1,65\u00a0€" in review_page.text
    work = workers[1].get("/tasks/work", headers=italian)
    assert "Trova lavoro" in work.text
    assert "Guadagni 0,475\u00a0€" in work.text


def test_taking_a_side_adds_the_role_and_the_nav_links(platform):
    """Someone without a side sees the choice; choosing makes the matching page theirs."""
    someone = person(platform, "new@example.com", None)
    assert "Get small tasks done" in someone.get("/tasks").text
    assert someone.submit("/tasks", "/tasks/join", {"role": "worker"}).status_code == 303
    page = someone.get("/tasks/work")
    assert page.status_code == 200
    nav = re.findall(r"<nav.*?</nav>", page.text, re.S)[0]
    assert 'href="/tasks/work"' in nav
    assert 'href="/tasks/employer"' not in nav


def test_a_task_already_taken_links_to_the_assignment_instead_of_offering_it_again(ann, workers, clock):
    """Find work does not offer Accept on a task the worker holds a slot of; accepting
    again anyway leads to the assignment they have, not a second one."""
    task_id = post_task(ann, clock)
    taken = workers[0].submit("/tasks/work", f"/tasks/work/{task_id}/accept", {})
    mine = taken.headers["location"].split("?")[0]
    page = workers[0].get("/tasks/work")
    assert f'action="/tasks/work/{task_id}/accept"' not in page.text
    assert f'href="{mine}"' in page.text
    again = workers[0].submit("/tasks/work", f"/tasks/work/{task_id}/accept", {})
    assert again.headers["location"] == mine

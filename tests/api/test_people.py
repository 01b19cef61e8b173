"""People and rosters through the API: groups, audiences, user admin, self-registration
(contract: People and rosters)."""

from __future__ import annotations

import pytest

from shared.config import load_settings
from tests.factories import bearer, login, login_tokens, make_exam, make_user


@pytest.fixture
def admin_headers(client, admin):
    return login(client, admin)


def _group(client, headers, name, **body):
    response = client.post("/api/v1/groups", json={"name": name, **body}, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


class TestGroups:
    def test_create_rename_search_and_delete(self, client, admin_headers):
        group = _group(client, admin_headers, "Class 7A", description="Room 12")
        assert group["member_count"] == 0 and group["description"] == "Room 12"
        _group(client, admin_headers, "Class 7B")
        renamed = client.patch(
            f"/api/v1/groups/{group['id']}", json={"name": "Class 7A (2026)"}, headers=admin_headers
        )
        assert renamed.status_code == 200 and renamed.get_json()["name"] == "Class 7A (2026)"
        found = client.get("/api/v1/groups?q=7a", headers=admin_headers).get_json()
        assert [g["name"] for g in found] == ["Class 7A (2026)"]
        assert (
            client.delete(f"/api/v1/groups/{group['id']}", headers=admin_headers).status_code == 204
        )
        assert client.get(f"/api/v1/groups/{group['id']}", headers=admin_headers).status_code == 404

    @pytest.mark.parametrize("twin", ["class 7a", "CLASS  7A", "Ｃｌａｓｓ 7A"])
    def test_a_duplicate_name_in_any_case_or_width_is_a_conflict(self, client, admin_headers, twin):
        _group(client, admin_headers, "Class 7A")
        response = client.post("/api/v1/groups", json={"name": twin}, headers=admin_headers)
        assert response.status_code == 409 and response.get_json()["error"] == "conflict"

    def test_a_name_of_ten_thousand_characters_is_a_422(self, client, admin_headers):
        response = client.post("/api/v1/groups", json={"name": "x" * 10_000}, headers=admin_headers)
        assert response.status_code == 422 and "name" in response.get_json()["errors"]["json"]

    def test_members_added_replaced_removed_and_in_many_groups(
        self, client, session, settings, admin_headers
    ):
        a, b, c = (make_user(session, settings).user.id for _ in range(3))
        first = _group(client, admin_headers, "Maths set 1")
        second = _group(client, admin_headers, "Year 9")
        members = f"/api/v1/groups/{first['id']}/members"
        added = client.post(
            members, json={"user_ids": [str(a), str(b), str(a)]}, headers=admin_headers
        )
        assert added.get_json() == {"member_count": 2}
        again = client.post(members, json={"user_ids": [str(b)]}, headers=admin_headers)
        assert again.get_json() == {"member_count": 2}  # already in: stays once
        client.post(
            f"/api/v1/groups/{second['id']}/members",
            json={"user_ids": [str(a)]},
            headers=admin_headers,
        )
        replaced = client.put(members, json={"user_ids": [str(b), str(c)]}, headers=admin_headers)
        assert replaced.get_json() == {"member_count": 2}
        listed = client.get(members, headers=admin_headers).get_json()
        assert {u["id"] for u in listed} == {str(b), str(c)}
        removed = client.delete(f"{members}/{c}", headers=admin_headers)
        assert removed.get_json() == {"member_count": 1}
        user_a = client.get(f"/api/v1/users/{a}", headers=admin_headers).get_json()
        assert [g["name"] for g in user_a["groups"]] == ["Year 9"]  # a left set 1, kept Year 9

    def test_unknown_users_or_admins_are_not_members(self, client, admin, admin_headers):
        group = _group(client, admin_headers, "Class 8")
        response = client.post(
            f"/api/v1/groups/{group['id']}/members",
            json={"user_ids": [str(admin.user.id)]},
            headers=admin_headers,
        )
        assert response.status_code == 422 and "user_ids" in response.get_json()["errors"]["json"]


class TestAudiences:
    @pytest.fixture
    def world(self, client, session, settings, admin_headers):
        exam = make_exam(session, audience="assigned")
        other = make_exam(session, audience="assigned", title="Other class's exam")
        in_group, by_name, outsider = (make_user(session, settings) for _ in range(3))
        group = _group(client, admin_headers, "Class 7A")
        client.post(
            f"/api/v1/groups/{group['id']}/members",
            json={"user_ids": [str(in_group.user.id)]},
            headers=admin_headers,
        )
        put = client.put(
            f"/api/v1/exams/{exam.id}/assignees",
            json={"group_ids": [group["id"]], "user_ids": [str(by_name.user.id)]},
            headers=admin_headers,
        )
        assert put.status_code == 200
        assert put.get_json()["eligible_count"] == 2
        return exam, other, group, in_group, by_name, outsider

    def test_a_new_exam_is_for_assigned_students_only(self, client, admin_headers):
        body = {"title": "Final", "duration_seconds": 600}
        created = client.post("/api/v1/exams", json=body, headers=admin_headers).get_json()
        assert created["audience"] == "assigned"

    def test_each_student_sees_and_starts_only_their_exams(self, client, world):
        exam, other, _, in_group, by_name, outsider = world
        for account in (in_group, by_name):
            headers = login(client, account)
            listed = client.get("/api/v1/exams", headers=headers).get_json()
            assert [e["id"] for e in listed] == [str(exam.id)]
            assert client.get(f"/api/v1/exams/{exam.id}", headers=headers).status_code == 200
            assert (
                client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).status_code == 201
            )
        headers = login(client, outsider)
        assert client.get("/api/v1/exams", headers=headers).get_json() == []
        assert client.get(f"/api/v1/exams/{exam.id}", headers=headers).status_code == 404
        refused = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
        assert refused.status_code == 403 and refused.get_json()["error"] == "not_enrolled"
        assert client.get(f"/api/v1/exams/{other.id}", headers=headers).status_code == 404

    def test_taking_a_student_out_keeps_their_attempt(self, client, session, admin_headers, world):
        exam, _, group, in_group, _, _ = world
        headers = login(client, in_group)
        attempt = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).get_json()
        client.put(f"/api/v1/exams/{exam.id}/assignees", json={}, headers=admin_headers)
        assert client.get(f"/api/v1/attempts/{attempt['id']}", headers=headers).status_code == 200
        resumed = client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers)
        assert resumed.status_code == 200 and resumed.get_json()["id"] == attempt["id"]
        roster = client.get(f"/api/v1/exams/{exam.id}/attempts", headers=admin_headers).get_json()
        assert [a["id"] for a in roster] == [attempt["id"]]

    def test_everyone_means_every_active_student(self, client, session, settings, admin_headers):
        exam = make_exam(session, audience="assigned")
        patched = client.patch(
            f"/api/v1/exams/{exam.id}", json={"audience": "everyone"}, headers=admin_headers
        )
        assert patched.status_code == 200 and patched.get_json()["audience"] == "everyone"
        newcomer = make_user(session, settings)
        view = client.get(f"/api/v1/exams/{exam.id}/assignees", headers=admin_headers).get_json()
        assert view["audience"] == "everyone" and view["eligible_count"] >= 1
        headers = login(client, newcomer)
        assert client.post(f"/api/v1/exams/{exam.id}/attempts", headers=headers).status_code == 201

    def test_unknown_groups_and_students_are_a_422(self, client, session, admin_headers, admin):
        exam = make_exam(session, audience="assigned")
        response = client.put(
            f"/api/v1/exams/{exam.id}/assignees",
            json={
                "group_ids": ["7d4e2c1a-0000-4000-8000-000000000000"],
                "user_ids": [str(admin.user.id)],
            },
            headers=admin_headers,
        )
        errors = response.get_json()["errors"]["json"]
        assert response.status_code == 422 and set(errors) == {"group_ids", "user_ids"}


class TestUserAdmin:
    def test_list_with_search_role_group_and_pagination(
        self, client, session, settings, admin_headers
    ):
        ada = make_user(session, settings, full_name="Ada Lovelace", email="ada@school.test")
        make_user(session, settings, full_name="Alan Turing")
        group = _group(client, admin_headers, "Computing")
        client.post(
            f"/api/v1/groups/{group['id']}/members",
            json={"user_ids": [str(ada.user.id)]},
            headers=admin_headers,
        )
        by_name = client.get("/api/v1/users?q=lovelace", headers=admin_headers).get_json()
        assert [u["email"] for u in by_name] == ["ada@school.test"]
        assert by_name[0]["active"] is True and by_name[0]["groups"][0]["name"] == "Computing"
        by_group = client.get(f"/api/v1/users?group_id={group['id']}", headers=admin_headers)
        assert [u["email"] for u in by_group.get_json()] == ["ada@school.test"]
        admins = client.get("/api/v1/users?role=admin", headers=admin_headers).get_json()
        assert {u["role"] for u in admins} == {"admin"}
        page = client.get("/api/v1/users?page_size=1&page=2", headers=admin_headers)
        assert len(page.get_json()) == 1 and "X-Pagination" in page.headers

    def test_rename_and_change_role(self, client, session, settings, admin_headers):
        user = make_user(session, settings)
        url = f"/api/v1/users/{user.user.id}"
        renamed = client.patch(url, json={"full_name": "New Name"}, headers=admin_headers)
        assert renamed.get_json()["full_name"] == "New Name"
        tokens = login_tokens(client, user)
        promoted = client.patch(url, json={"role": "admin"}, headers=admin_headers)
        assert promoted.get_json()["role"] == "admin"
        # A token carries the role: the student token must not live on as a stale one.
        assert (
            client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
        )

    def test_disable_refuses_tokens_at_once_and_logins_then_enable_again(
        self, client, session, settings, admin_headers
    ):
        user = make_user(session, settings)
        tokens = login_tokens(client, user)
        url = f"/api/v1/users/{user.user.id}"
        disabled = client.patch(url, json={"active": False}, headers=admin_headers)
        assert disabled.status_code == 200 and disabled.get_json()["active"] is False
        me = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
        assert me.status_code == 401 and me.get_json()["error"] == "token_revoked"
        refresh = client.post("/api/v1/auth/refresh", headers=bearer(tokens["refresh_token"]))
        assert refresh.status_code == 401
        body = {"email": user.email, "password": user.password}
        refused = client.post("/api/v1/auth/login", json=body)
        assert refused.status_code == 403 and refused.get_json()["error"] == "account_disabled"
        wrong = client.post("/api/v1/auth/login", json={**body, "password": "not-the-password"})
        assert wrong.status_code == 401  # a stranger doesn't learn the account is disabled
        client.patch(url, json={"active": True}, headers=admin_headers)
        assert client.post("/api/v1/auth/login", json=body).status_code == 200
        # Tokens from before the disabling stay dead.
        assert (
            client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"])).status_code == 401
        )

    def test_an_admin_cannot_disable_or_demote_themselves(self, client, admin, admin_headers):
        url = f"/api/v1/users/{admin.user.id}"
        for patch in ({"active": False}, {"role": "student"}):
            response = client.patch(url, json=patch, headers=admin_headers)
            assert response.status_code == 409

    def test_students_cannot_see_the_people_routes(self, client, student):
        headers = login(client, student)
        for path in ("/api/v1/users", "/api/v1/groups"):
            assert client.get(path, headers=headers).status_code == 403


class TestSelfRegistration:
    def _client(self, db, **overrides):
        from web import create_app

        app = create_app(load_settings(**overrides))
        app.extensions["exam.session_factory"] = db
        return app.test_client()

    def _register(self, client, email):
        body = {"email": email, "password": "a-long-password", "full_name": "New"}
        return client.post("/api/v1/auth/register", json=body)

    def test_closed_refuses_everyone(self, db):
        client = self._client(db, SELF_REGISTRATION="closed")
        response = self._register(client, "anyone@school.test")
        assert response.status_code == 403 and response.get_json()["error"] == "registration_closed"

    def test_a_domain_list_lets_only_those_domains_in(self, db):
        client = self._client(db, SELF_REGISTRATION="school.test, pupils.school.test")
        assert self._register(client, "ada@school.test").status_code == 201
        assert self._register(client, "bob@PUPILS.school.test").status_code == 201
        assert self._register(client, "eve@evil.test").status_code == 403
        assert self._register(client, "eve@school.test.evil.test").status_code == 403

//! Organizations and their members over the API (the private repositories come next).

use serde_json::json;

use crate::support::*;

fn post(server: &Server, key: &str, path: &str, body: serde_json::Value) -> Response {
    request(
        "POST",
        &server.api(path),
        &[("authorization", key), ("content-type", "application/json")],
        Some(body.to_string().as_bytes()),
    )
}

#[test]
fn members_roles_seats_and_what_outsiders_see() {
    let server = Server::start("hexyard");
    let ann = server.user_with_key("ann", &[]);
    let ben = server.user_with_key("ben", &[]);
    let cat = server.user_with_key("cat", &[]);
    server.admin(&["org", "create", "acme", "--owner", "ann", "--seats", "2"]);
    let dup = server.cli(&["admin", "org", "create", "acme", "--owner", "ben"]);
    assert!(!dup.status.success());
    let clash = server.cli(&["admin", "org", "create", "hexyard", "--owner", "ben"]);
    assert!(!clash.status.success(), "the public repository's name is taken");

    assert_eq!(get(&server.api("/orgs"), &[("authorization", &ann)]).json()[0]["name"], "acme");
    assert_eq!(
        get(&server.api("/users/me"), &[("authorization", &ann)]).json()["organizations"],
        json!([{"name": "acme", "role": "admin"}])
    );
    assert_eq!(get(&server.api("/orgs/acme"), &[("authorization", &ann)]).json()["seats"], 2);
    // outsiders cannot tell it exists
    for path in ["/orgs/acme", "/orgs/acme/members", "/orgs/acme/audit-logs", "/orgs/nothing"] {
        assert_eq!(get(&server.api(path), &[("authorization", &ben)]).status, 404, "{path}");
    }
    assert_eq!(get(&server.api("/orgs"), &[("authorization", &ben)]).json(), json!([]));

    let added = post(&server, &ann, "/orgs/acme/members", json!({"name": "ben", "role": "write"}));
    assert_eq!(added.status, 200, "{}", added.text());
    assert_eq!(added.json()["role"], "write");
    // a writer reads but does not manage
    assert_eq!(get(&server.api("/orgs/acme/members"), &[("authorization", &ben)]).json().as_array().unwrap().len(), 2);
    let denied = post(&server, &ben, "/orgs/acme/members", json!({"name": "cat"}));
    assert_eq!(denied.status, 403);
    // two seats, both taken
    let full = post(&server, &ann, "/orgs/acme/members", json!({"name": "cat", "role": "read"}));
    assert_eq!(full.status, 422);
    assert_eq!(post(&server, &ann, "/orgs/acme", json!({"seats": 1})).status, 422, "fewer seats than members");
    assert_eq!(post(&server, &ann, "/orgs/acme", json!({"seats": 3})).json()["seats"], 3);
    assert_eq!(post(&server, &ann, "/orgs/acme/members", json!({"name": "cat", "role": "read"})).status, 200);
    assert_eq!(get(&server.api("/orgs/acme/members/cat"), &[("authorization", &cat)]).json()["role"], "read");
    assert_eq!(post(&server, &ann, "/orgs/acme/members/cat", json!({"role": "admin"})).json()["role"], "admin");
    assert_eq!(post(&server, &ann, "/orgs/acme/members/cat", json!({"role": "owner"})).status, 422);

    // the last admin stays; a member may leave
    assert_eq!(request("DELETE", &server.api("/orgs/acme/members/cat"), &[("authorization", &ann)], None).status, 204);
    let last = request("DELETE", &server.api("/orgs/acme/members/ann"), &[("authorization", &ann)], None);
    assert_eq!(last.status, 422);
    assert_eq!(
        post(&server, &ann, "/orgs/acme/members/ann", json!({"role": "read"})).status,
        422,
        "cannot demote the last admin"
    );
    assert_eq!(request("DELETE", &server.api("/orgs/acme/members/ben"), &[("authorization", &ben)], None).status, 204);
    assert_eq!(get(&server.api("/orgs/acme"), &[("authorization", &ben)]).status, 404, "gone after leaving");

    let log = get(&server.api("/orgs/acme/audit-logs"), &[("authorization", &ann)]).json();
    let actions: Vec<&str> = log.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in [
        "organization.create",
        "organization.member.add",
        "organization.member.role",
        "organization.member.remove",
        "organization.update",
    ] {
        assert!(actions.contains(&action), "{action} not in {actions:?}");
    }
}

// A frontend's first calls through a client generated from /api/schema/:
// `make test` type-checks this file with `tsc --strict`, so renaming an
// operation's path, a field or a response type breaks the build here first.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";

type UserView = components["schemas"]["UserView"];

export interface FirstCalls {
  roleNames: string[];
  me: UserView;
  email: string;
}

export async function firstCalls(
  baseUrl: string,
  email: string,
  password: string,
): Promise<FirstCalls> {
  const client = createClient<paths>({ baseUrl });

  const login = await client.POST("/api/auth/login/", {
    body: { email, password },
  });
  if (!login.data) {
    throw new Error(`login: HTTP ${login.response.status}`);
  }
  const access: string = login.data.tokens.access;
  const headers = { Authorization: `Bearer ${access}` };

  const roles = await client.GET("/api/roles/", {
    headers,
    params: { query: { page_size: 50 } },
  });
  if (!roles.data) {
    throw new Error(`roles: HTTP ${roles.response.status}`);
  }
  const roleNames = roles.data.results.map((role) => role.name);
  const next: string | null | undefined = roles.data.next;
  void next;

  const me = await client.GET("/api/users/me/", { headers });
  if (!me.data) {
    throw new Error(`users/me: HTTP ${me.response.status}`);
  }
  // users/me is the user, not the organisation (the two once shared an
  // operationId): a user has an email and no slug.
  const userEmail: string = me.data.email;
  // @ts-expect-error UserView has no `slug`
  void me.data.slug;

  return { roleNames, me: me.data, email: userEmail };
}

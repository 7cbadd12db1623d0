const form = document.getElementById("login-form");
form.addEventListener("submit", async (event) => {
  event.preventDefault();
  const body = { username: form.username.value, password: form.password.value };
  const response = await fetch("/api/auth/login", {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  });
  if (response.ok) {
    const next = new URLSearchParams(location.search).get("next");
    location.href = next && next.startsWith("/") && !next.startsWith("//") ? next : "/";
  } else {
    const data = await response.json().catch(() => ({}));
    document.getElementById("login-error").textContent = data.detail || "Login failed";
  }
});

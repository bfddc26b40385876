// The Web API test page (/external/test/server): fills in an example body for the chosen call,
// posts it to /external/server/<Name> and shows the HTTP status and the reply.
(function () {
  "use strict";
  const form = document.getElementById("web-api-test");
  if (!form) {
    return;
  }
  const select = document.getElementById("web-api-call");
  const body = document.getElementById("web-api-body");
  const reply = document.getElementById("web-api-reply");
  const status = document.getElementById("web-api-status");
  const examples = JSON.parse(document.getElementById("web-api-examples").textContent);

  function showExample() {
    body.value = JSON.stringify(examples[select.value] || {}, null, 2);
  }

  function pretty(text) {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch (error) {
      return text;
    }
  }

  async function send(event) {
    event.preventDefault();
    status.textContent = "sending…";
    reply.textContent = "";
    try {
      const response = await fetch("/external/server/" + encodeURIComponent(select.value), {
        method: "POST",
        headers: {"Content-Type": "application/json"},
        body: body.value,
        credentials: "omit",
      });
      const text = await response.text();
      status.textContent = "HTTP " + response.status + (response.status === 403 ? " (no Web access rule allows this address)" : "");
      reply.textContent = pretty(text);
    } catch (error) {
      status.textContent = "failed: " + error;
    }
  }

  select.addEventListener("change", showExample);
  form.addEventListener("submit", send);
  showExample();
})();

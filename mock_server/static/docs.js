// A dependency-free, offline reference for the spec served at /openapi.json.
// Renders every operation: method, path, summary, description, parameters, request body schema,
// and every response with its schema. Local $refs are shown by name and expandable.
(function () {
  "use strict";
  var METHODS = ["get", "post", "put", "patch", "delete", "head", "options", "trace"];

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; } else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) { if (c) { node.appendChild(c); } });
    return node;
  }

  function resolve(doc, node, depth) {
    if (depth > 12 || node === null || typeof node !== "object") { return node; }
    if (Array.isArray(node)) { return node.map(function (n) { return resolve(doc, n, depth + 1); }); }
    if (typeof node.$ref === "string" && node.$ref.indexOf("#/") === 0) {
      var target = node.$ref.slice(2).split("/").reduce(function (acc, part) {
        return acc ? acc[part.replace(/~1/g, "/").replace(/~0/g, "~")] : undefined;
      }, doc);
      var merged = Object.assign({}, resolve(doc, target, depth + 1));
      Object.keys(node).forEach(function (k) { if (k !== "$ref") { merged[k] = node[k]; } });
      merged["x-ref-name"] = node.$ref.split("/").pop();
      return merged;
    }
    var out = {};
    Object.keys(node).forEach(function (k) { out[k] = resolve(doc, node[k], depth + 1); });
    return out;
  }

  function schemaBlock(title, schema) {
    var name = schema && schema["x-ref-name"] ? " (" + schema["x-ref-name"] + ")" : "";
    var details = el("details", {}, [el("summary", { text: title + name })]);
    details.appendChild(el("pre", { text: JSON.stringify(schema, null, 2) }));
    return details;
  }

  function paramsTable(params) {
    if (!params.length) { return null; }
    var rows = params.map(function (p) {
      var s = p.schema || {};
      var type = (Array.isArray(s.type) ? s.type.join(" | ") : s.type || "") + (s.format ? " (" + s.format + ")" : "");
      if (s.enum) { type += " one of " + s.enum.join(", "); }
      return el("tr", {}, [
        el("td", { text: p.name + (p.required ? " *" : "") }), el("td", { text: p["in"] }),
        el("td", { text: type }), el("td", { text: p.description || "" })
      ]);
    });
    var head = el("tr", {}, ["name", "in", "type", "description"].map(function (h) { return el("th", { text: h }); }));
    return el("table", { "class": "params" }, [el("thead", {}, [head]), el("tbody", {}, rows)]);
  }

  function operationSection(doc, path, method, op, shared) {
    op = resolve(doc, op, 0);
    var params = (shared || []).concat(op.parameters || []).map(function (p) { return resolve(doc, p, 0); });
    var id = "op-" + (op.operationId || method + path);
    var head = el("summary", {}, [
      el("span", { "class": "method " + method, text: method }), el("span", { "class": "path", text: path }),
      el("span", { "class": "opid", text: (op.operationId || "") + " - " + (op.summary || "") })
    ]);
    var body = el("div", { "class": "body" }, [el("p", { "class": "desc", text: op.description || "" })]);
    var table = paramsTable(params);
    if (table) { body.appendChild(el("h4", { text: "Parameters" })); body.appendChild(table); }
    var rb = op.requestBody;
    if (rb && rb.content) {
      body.appendChild(el("h4", { text: "Request body" + (rb.required ? " (required)" : "") }));
      Object.keys(rb.content).forEach(function (ct) { body.appendChild(schemaBlock(ct, rb.content[ct].schema)); });
    }
    body.appendChild(el("h4", { text: "Responses" }));
    Object.keys(op.responses || {}).forEach(function (status) {
      var r = op.responses[status] || {};
      var content = r.content || {};
      var item = el("div", { "class": "response" }, [el("strong", { text: status + " " }), el("span", { text: r.description || "" })]);
      Object.keys(content).forEach(function (ct) { item.appendChild(schemaBlock(ct, content[ct].schema)); });
      body.appendChild(item);
    });
    var section = el("details", { "class": "operation", id: id, "data-search": (method + " " + path + " " + op.operationId + " " + (op.tags || []).join(" ")).toLowerCase() }, [head, body]);
    section.className = "operation";
    return { node: section, tag: (op.tags || ["Other"])[0], id: id, label: op.operationId || method + " " + path };
  }

  function render(doc) {
    document.getElementById("title").textContent = (doc.info && doc.info.title || "API") + " " + (doc.info && doc.info.version || "");
    document.getElementById("summary").textContent = doc.info && doc.info.summary || "";
    var main = document.getElementById("operations");
    var toc = document.getElementById("toc");
    main.textContent = "";
    var byTag = {};
    var order = (doc.tags || []).map(function (t) { return t.name; });
    Object.keys(doc.paths || {}).forEach(function (path) {
      var item = doc.paths[path];
      METHODS.forEach(function (m) {
        if (!item[m]) { return; }
        var s = operationSection(doc, path, m, item[m], item.parameters);
        if (order.indexOf(s.tag) < 0) { order.push(s.tag); }
        (byTag[s.tag] = byTag[s.tag] || []).push(s);
      });
    });
    order.forEach(function (tag) {
      if (!byTag[tag]) { return; }
      main.appendChild(el("h2", { "class": "tag", text: tag }));
      byTag[tag].forEach(function (s) {
        main.appendChild(s.node);
        toc.appendChild(el("a", { href: "#" + s.id, text: s.label }));
      });
    });
  }

  function filter(text) {
    var needle = text.trim().toLowerCase();
    Array.prototype.forEach.call(document.querySelectorAll("details.operation"), function (d) {
      d.classList.toggle("hidden", needle !== "" && d.getAttribute("data-search").indexOf(needle) < 0);
    });
  }

  document.getElementById("filter").addEventListener("input", function (e) { filter(e.target.value); });
  fetch("/openapi.json").then(function (r) { return r.json(); }).then(render).catch(function (err) {
    document.getElementById("operations").textContent = "Could not load /openapi.json: " + err;
  });
}());

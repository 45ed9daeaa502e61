// The form builder on the form page of the routine editor: a form's fields — label, type, required, help,
// choices — edited as fields, written as the JSON Schema in the page's textarea (which is what is saved,
// and which stays there for experts: typing in it rebuilds the builder). What the builder does not know
// (conditions, nested groups, a pattern, ...) is kept as it was: a field of a kind it cannot show is
// listed as "advanced", and only its label, help and required are edited here. The words come from the
// page (data-words), in the user's language.
(function () {
  "use strict";
  var box = document.getElementById("form-builder");
  var textarea = document.getElementById("schema");
  if (!box || !textarea) {
    return;
  }
  var words = JSON.parse(box.getAttribute("data-words") || "{}");
  var list = box.querySelector("[data-fields]");
  var titleInput = document.getElementById("fb-title");
  var descriptionInput = document.getElementById("fb-description");
  var status = box.querySelector("[data-status]");
  var TYPES = ["text", "textarea", "date", "boolean", "choice", "choices", "integer"];
  var MANAGED = ["type", "title", "description", "format", "maxLength", "oneOf", "enum", "items", "uniqueItems",
                 "minItems"];
  var schema = null;   // the whole schema as last read or written
  var fields = [];     // {key, keyEdited, title, type, required, help, choices: [{const, title}], original}
  var counter = 0;

  function slug(text) {
    var map = { "å": "a", "ä": "a", "ö": "o", "é": "e", "ü": "u" };
    var out = text.toLowerCase().replace(/[åäöéü]/g, function (c) { return map[c]; })
      .replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
    if (!out || !/^[a-z]/.test(out)) {
      out = "falt_" + out;
    }
    return out.slice(0, 60).replace(/_+$/, "");
  }

  function optionsOf(property) {
    if (Array.isArray(property.oneOf)) {
      return property.oneOf.filter(function (o) { return o && "const" in o; })
        .map(function (o) { return { const: o.const, title: o.title || String(o.const) }; });
    }
    if (Array.isArray(property.enum)) {
      return property.enum.map(function (v) { return { const: v, title: String(v) }; });
    }
    return null;
  }

  // What kind of field a property is, as the builder shows it; "advanced" when it cannot.
  function typeOf(property) {
    var known = Object.keys(property).every(function (k) { return MANAGED.indexOf(k) >= 0; });
    var options = optionsOf(property);
    if (property.type === "string" && options && options.every(function (o) { return typeof o.const === "string"; })) {
      return known ? "choice" : "advanced";
    }
    if (property.type === "array" && property.items && property.items.type === "string" && optionsOf(property.items)) {
      var itemKeys = Object.keys(property.items).every(function (k) { return ["type", "oneOf", "enum"].indexOf(k) >= 0; });
      return known && itemKeys ? "choices" : "advanced";
    }
    if (!known || options) {
      return "advanced";
    }
    if (property.type === "string" && property.format === "date") {
      return "date";
    }
    if (property.type === "string" && !property.format) {
      return property.maxLength && property.maxLength <= 500 ? "text" : "textarea";
    }
    if (property.type === "boolean" || property.type === "integer") {
      return property.type;
    }
    return "advanced";
  }

  function read(text) {
    var parsed;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      return false;
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
      return false;
    }
    schema = parsed;
    var required = Array.isArray(parsed.required) ? parsed.required : [];
    var properties = parsed.properties && typeof parsed.properties === "object" ? parsed.properties : {};
    fields = Object.keys(properties).map(function (key) {
      var property = properties[key] && typeof properties[key] === "object" ? properties[key] : {};
      var type = typeOf(property);
      var options = type === "choices" ? optionsOf(property.items) : optionsOf(property);
      return { id: ++counter, key: key, keyEdited: true, title: property.title || "", type: type, originalType: type,
               required: required.indexOf(key) >= 0, help: property.description || "",
               choices: options || [], original: property };
    });
    return true;
  }

  function choicesFrom(field, lines) {
    var before = {};
    field.choices.forEach(function (c) { before[c.title] = c.const; });
    var seen = {};
    return lines.split("\n").map(function (line) { return line.trim(); }).filter(function (line) {
      if (!line || seen[line]) {
        return false;
      }
      seen[line] = true;
      return true;
    }).map(function (line) {
      return { const: line in before ? before[line] : slug(line), title: line };
    });
  }

  // A field's property: as it was, with what the builder edits written over it. A field whose type is
  // unchanged keeps its own details (a shorter maxLength, say); a new type starts from that type's own.
  function propertyOf(field) {
    var p = {};
    var original = field.original || {};
    var same = field.type === field.originalType;
    Object.keys(original).forEach(function (k) {
      if (same || MANAGED.indexOf(k) < 0) {
        p[k] = original[k];
      }
    });
    if (field.title) { p.title = field.title; } else { delete p.title; }
    if (field.help) { p.description = field.help; } else { delete p.description; }
    var oneOf = field.choices.map(function (c) { return { const: c.const, title: c.title }; });
    if (same && field.type !== "choice" && field.type !== "choices") {
      return p;
    }
    if (same) {  // a choice field: its choices as edited
      delete p.enum;
      if (field.type === "choice") {
        p.oneOf = oneOf;
      } else {
        p.items = { type: "string", oneOf: oneOf };
        if (field.required) { p.minItems = Math.max(1, p.minItems || 0); } else { delete p.minItems; }
      }
      return p;
    }
    switch (field.type) {
      case "text": p.type = "string"; p.maxLength = 500; break;
      case "textarea": p.type = "string"; p.maxLength = 10000; break;
      case "date": p.type = "string"; p.format = "date"; break;
      case "boolean": p.type = "boolean"; break;
      case "integer": p.type = "integer"; break;
      case "choice": p.type = "string"; p.oneOf = oneOf; break;
      case "choices":
        p.type = "array"; p.items = { type: "string", oneOf: oneOf }; p.uniqueItems = true;
        if (field.required) { p.minItems = 1; }
        break;
    }
    return p;
  }

  function write() {
    var out = {};
    Object.keys(schema || {}).forEach(function (k) { out[k] = schema[k]; });
    if (!("type" in out)) { out.type = "object"; }
    if (titleInput.value.trim()) { out.title = titleInput.value.trim(); } else { delete out.title; }
    if (descriptionInput.value.trim()) { out.description = descriptionInput.value.trim(); } else { delete out.description; }
    out.properties = {};
    var required = [];
    fields.forEach(function (field) {
      out.properties[field.key] = propertyOf(field);
      if (field.required) { required.push(field.key); }
    });
    var before = Array.isArray(out.required) ? out.required : [];
    var same = before.length === required.length && required.every(function (k) { return before.indexOf(k) >= 0; });
    if (required.length) { out.required = same ? before : required; } else { delete out.required; }
    if (!("additionalProperties" in out)) { out.additionalProperties = false; }
    // the schema's own keys first, then the fields (as a person writing it would order them)
    var ordered = {};
    ["$schema", "type", "title", "description", "properties", "required"].forEach(function (k) {
      if (k in out) { ordered[k] = out[k]; }
    });
    Object.keys(out).forEach(function (k) { if (!(k in ordered)) { ordered[k] = out[k]; } });
    schema = ordered;
    textarea.value = JSON.stringify(ordered, null, 2);
    textarea.dispatchEvent(new Event("input", { bubbles: true }));  // the live preview (htmx)
    var duplicates = fields.map(function (f) { return f.key; })
      .filter(function (key, i, all) { return all.indexOf(key) !== i; });
    status.textContent = duplicates.length ? words.duplicate.replace("%(key)s", duplicates[0]) : "";
  }

  function element(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined) { el.textContent = text; }
    return el;
  }

  function labelled(id, label, input, help) {
    var wrap = element("div", { "class": "field" });
    wrap.appendChild(element("label", { "for": id }, label));
    if (help) {
      var note = element("p", { "class": "help", id: id + "-help" }, help);
      input.setAttribute("aria-describedby", id + "-help");
      wrap.appendChild(note);
    }
    wrap.appendChild(input);
    return wrap;
  }

  function fieldBox(field, index) {
    var id = "fb-" + field.id;
    var set = element("fieldset", { "class": "builder-field", "data-field": field.key });
    set.appendChild(element("legend", {}, words.field.replace("%(number)s", String(index + 1)) +
                                          (field.title ? ": " + field.title : "")));
    var title = element("input", { type: "text", id: id + "-title", maxlength: "300" });
    title.value = field.title;
    title.addEventListener("input", function () {
      field.title = title.value;
      if (!field.keyEdited) {
        field.key = slug(title.value || "falt");
        key.value = field.key;
      }
      set.querySelector("legend").textContent = words.field.replace("%(number)s", String(index + 1)) +
        (field.title ? ": " + field.title : "");
      write();
    });
    set.appendChild(labelled(id + "-title", words.label, title));

    var key = element("input", { type: "text", id: id + "-key", pattern: "[a-z][a-z0-9_]*", maxlength: "60",
                                 spellcheck: "false", "class": "code" });
    key.value = field.key;
    key.addEventListener("input", function () {
      field.keyEdited = true;
      var wanted = key.value.trim();
      var good = /^[a-z][a-z0-9_]*$/.test(wanted);
      key.setAttribute("aria-invalid", good ? "false" : "true");
      if (!good) {  // kept as it was until it is a key
        status.textContent = words.badKey;
        return;
      }
      field.key = wanted;
      write();
    });
    set.appendChild(labelled(id + "-key", words.key, key, words.keyHelp));

    var type = element("select", { id: id + "-type" });
    var offered = field.type === "advanced" ? ["advanced"] : TYPES;
    offered.forEach(function (t) {
      var option = element("option", { value: t }, words.types[t]);
      option.selected = t === field.type;
      type.appendChild(option);
    });
    type.disabled = field.type === "advanced";
    type.addEventListener("change", function () {
      field.type = type.value;
      choicesBox.hidden = field.type !== "choice" && field.type !== "choices";
      write();
    });
    set.appendChild(labelled(id + "-type", words.type, type, field.type === "advanced" ? words.advancedHelp : ""));

    var required = element("input", { type: "checkbox", id: id + "-required" });
    required.checked = field.required;
    required.addEventListener("change", function () { field.required = required.checked; write(); });
    var check = element("div", { "class": "field checkbox" });
    check.appendChild(required);
    check.appendChild(element("label", { "for": id + "-required" }, words.required));
    set.appendChild(check);

    var help = element("input", { type: "text", id: id + "-help", maxlength: "1000" });
    help.value = field.help;
    help.addEventListener("input", function () { field.help = help.value; write(); });
    set.appendChild(labelled(id + "-help", words.help, help));

    var choices = element("textarea", { id: id + "-choices", rows: "4" });
    choices.value = field.choices.map(function (c) { return c.title; }).join("\n");
    choices.addEventListener("input", function () { field.choices = choicesFrom(field, choices.value); write(); });
    var choicesBox = labelled(id + "-choices", words.choices, choices, words.choicesHelp);
    choicesBox.hidden = field.type !== "choice" && field.type !== "choices";
    set.appendChild(choicesBox);

    var tools = element("div", { "class": "builder-tools" });
    [["up", words.up, -1], ["down", words.down, 1]].forEach(function (move) {
      var button = element("button", { type: "button", "class": "secondary" }, move[1]);
      button.disabled = (move[2] < 0 && index === 0) || (move[2] > 0 && index === fields.length - 1);
      button.addEventListener("click", function () {
        var to = index + move[2];
        fields.splice(to, 0, fields.splice(index, 1)[0]);
        write();
        render(fields[to].id, move[0]);
      });
      tools.appendChild(button);
    });
    var remove = element("button", { type: "button", "class": "secondary" }, words.remove);
    remove.addEventListener("click", function () {
      if (window.confirm(words.confirmRemove.replace("%(name)s", field.title || field.key))) {
        fields.splice(index, 1);
        write();
        render();
        status.textContent = words.removed;
        var next = fields[Math.min(index, fields.length - 1)];  // the keyboard stays in the list
        (next ? document.getElementById("fb-" + next.id + "-title") : box.querySelector("[data-add]")).focus();
      }
    });
    tools.appendChild(remove);
    set.appendChild(tools);
    return set;
  }

  function render(focusId, focusWhich) {
    list.textContent = "";
    fields.forEach(function (field, index) { list.appendChild(fieldBox(field, index)); });
    if (!fields.length) {
      list.appendChild(element("p", {}, words.empty));
    }
    if (focusId) {
      var where = list.querySelector("#fb-" + focusId + "-title");
      var row = where && where.closest("fieldset");
      var button = row && row.querySelector(".builder-tools button:" + (focusWhich === "down" ? "nth-child(2)" : "first-child"));
      (button && !button.disabled ? button : where).focus();
    }
  }

  function load() {
    if (!read(textarea.value)) {
      box.setAttribute("data-invalid", "true");
      status.textContent = words.invalid;
      return false;
    }
    box.removeAttribute("data-invalid");
    titleInput.value = schema.title || "";
    descriptionInput.value = schema.description || "";
    render();
    return true;
  }

  box.querySelector("[data-add]").addEventListener("click", function () {
    if (box.getAttribute("data-invalid")) {
      return;
    }
    var field = { id: ++counter, key: "", keyEdited: false, title: "", type: "text", originalType: null,
                  required: false, help: "", choices: [], original: {} };
    var taken = fields.map(function (f) { return f.key; });
    var n = fields.length + 1;
    while (taken.indexOf("falt_" + n) >= 0) { n++; }
    field.key = "falt_" + n;
    fields.push(field);
    write();
    render();
    document.getElementById("fb-" + field.id + "-title").focus();
  });
  [titleInput, descriptionInput].forEach(function (input) {
    input.addEventListener("input", function () { if (!box.getAttribute("data-invalid")) { write(); } });
  });
  textarea.addEventListener("input", function (event) {
    if (event.isTrusted) {  // typed by the expert, not written by the builder
      load();
    }
  });
  box.hidden = false;
  load();
  var raw = document.getElementById("raw-json");
  if (raw && !box.getAttribute("data-invalid")) {
    raw.open = false;
  }
  box.setAttribute("data-ready", "true");
})();

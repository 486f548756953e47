"""openapi.yaml as a test oracle: every request the end-to-end tests send and every response they receive is
checked against it.

A response must be documented (route, method, status, content type) and its JSON body must validate against the
schema the document gives (jsonschema, Draft 2020-12, $refs resolved inside openapi.yaml).

A request is checked by what the server did with it, so that the document describes exactly what the server takes:
a request the server accepted (2xx) must have sent a body only where the operation documents one, of a documented
content type, that validates against its schema (and one where the body is required); a request refused with 415
must have sent a type the document does not list. A refused body that the schema allows is not an error here: the
pipeline's rules (a known device, a file name that is not withdrawn) go beyond what a schema says.
"""

import json
import os
import re
import urllib.parse

import jsonschema
import yaml

REPO = os.path.abspath(os.environ.get("ROMTRACK_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", ".."))


class Contract:
    def __init__(self, path=os.path.join(REPO, "openapi.yaml")):
        with open(path, encoding="utf-8") as f:
            self.doc = yaml.safe_load(f)
        self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.templates = []
        for template in self.doc["paths"]:
            pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
            self.templates.append((re.compile(pattern), template))

    def routes(self):
        """The documented operations as a set of "METHOD /path/{template}" strings."""
        return {"%s %s" % (method.upper(), template)
                for template, item in self.doc["paths"].items()
                for method in item if method in ("get", "put", "post", "delete", "patch", "head", "options")}

    def template_for(self, raw_path):
        path = raw_path.split("?", 1)[0]
        for pattern, template in self.templates:
            if pattern.match(path):
                return template
        return None

    def _resolve(self, node):
        while isinstance(node, dict) and "$ref" in node:
            _, node = self.resolver.resolve(node["$ref"])
        return node

    def validate(self, instance, schema):
        jsonschema.Draft202012Validator(schema, resolver=self.resolver,
                                        format_checker=jsonschema.FormatChecker()).validate(instance)

    def check_request(self, raw_path, method, status, request_headers, request_body):
        """Raises AssertionError when a request the server accepted (or refused with 415) contradicts openapi.yaml."""
        template = self.template_for(raw_path)
        if template is None:
            return
        op = self.doc["paths"][template].get(method.lower())
        if op is None:
            return
        ctype, charset = "", None
        for name, value in request_headers.items():
            if name.lower() == "content-type":
                ctype, *params = [part.strip().lower() for part in value.split(";")]
                for param in params:
                    if param.startswith("charset="):
                        charset = param[len("charset="):].strip('"')
        request_body_doc = self._resolve(op.get("requestBody", {}))
        content = request_body_doc.get("content", {})
        where = "%s %s (%d)" % (method, template, status)
        if status == 415:
            if charset not in (None, "utf-8"):
                return  # the documented types are text in UTF-8 (RFC 8259 for JSON): another charset is another type
            assert ctype not in content, "%s: refused the documented request type %r" % (where, ctype)
            return
        if not 200 <= status < 300:
            return
        if not request_body:
            assert not request_body_doc.get("required"), "%s: accepted without the required body" % where
            return
        assert content, "%s: accepted a body, but the operation documents none" % where
        assert ctype in content, "%s: accepted a body of type %r, documented: %s" % (where, ctype, list(content))
        schema = content[ctype].get("schema")
        if schema is None:
            return
        if ctype.endswith("json"):
            instance = json.loads(request_body)
        else:
            instance = request_body.decode("utf-8")  # the documented text types are strings in UTF-8
        try:
            self.validate(instance, schema)
        except jsonschema.ValidationError as e:
            raise AssertionError("%s: accepted a body its schema refuses: %s at %s" % (
                where, e.message, "/" + "/".join(str(p) for p in e.absolute_path))) from None

    def check(self, raw_path, method, status, headers, doc):
        """Raises AssertionError when the response is not what openapi.yaml says."""
        template = self.template_for(raw_path)
        ctype = headers.get("content-type", "").split(";")[0].strip()
        if template is None:
            # Not a documented path: only a 404 problem (from romtrack or nginx) may come back.
            assert status in (400, 404, 414), "undocumented path %s answered %d" % (raw_path, status)
            assert ctype == "application/problem+json", ctype
            self.validate(doc, {"$ref": "#/components/schemas/Problem"})
            return
        item = self.doc["paths"][template]
        op = item.get("head" if method == "HEAD" and "head" in item else method.lower())
        if op is None and method == "HEAD":
            op = item.get("get")
        if op is None:
            assert status == 405, "%s %s is not documented but answered %d" % (method, template, status)
            assert ctype == "application/problem+json"
            self.validate(doc, {"$ref": "#/components/schemas/Problem"})
            return
        if 200 <= status < 400:
            # a request the server accepted uses only parameters the document lists
            documented = {self._resolve(p)["name"] for p in item.get("parameters", []) + op.get("parameters", [])
                          if self._resolve(p)["in"] == "query"}
            query = raw_path.split("?", 1)[1] if "?" in raw_path else ""
            for pair in filter(None, query.split("&")):
                name = urllib.parse.unquote_plus(pair.split("=", 1)[0])  # as the server decodes it
                assert name in documented, "%s %s: parameter %s is not documented" % (method, template, name)
        responses = op["responses"]
        assert str(status) in responses, "%s %s: status %d is not documented (documented: %s)" % (
            method, template, status, ", ".join(sorted(responses)))
        response = self._resolve(responses[str(status)])
        content = response.get("content", {})
        if method == "HEAD" or status in (204, 304):
            assert status not in (204, 304) or not content, "%d documented with a body" % status
            return  # no body to check
        assert ctype in content, "%s %s %d: content type %r, documented: %s" % (
            method, template, status, ctype, list(content))
        schema = content[ctype].get("schema")
        if schema is not None and ctype.endswith("json"):
            self.validate(doc, schema)
        for name, header in response.get("headers", {}).items():
            header = self._resolve(header)
            if header.get("required"):
                assert name.lower() in headers, "%s %s %d: header %s missing" % (method, template, status, name)

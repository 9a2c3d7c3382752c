// The status class a response counts under, by name and by position.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { STATUS_CLASSES, statusClass, statusClassIndex } from "../../http/status_class.ts";

describe("status classes", () => {
  it("maps each code to its class, codes outside 100-599 to the nearest", () => {
    const cases: [number, string][] = [
      [0, "1xx"],
      [100, "1xx"],
      [199, "1xx"],
      [200, "2xx"],
      [299, "2xx"],
      [300, "3xx"],
      [399, "3xx"],
      [400, "4xx"],
      [499, "4xx"],
      [500, "5xx"],
      [599, "5xx"],
      [999, "5xx"],
    ];
    for (const [status, name] of cases) {
      assert.equal(statusClass(status), name, `status ${status}`);
      assert.equal(STATUS_CLASSES[statusClassIndex(status)], name, `index of ${status}`);
    }
  });
});

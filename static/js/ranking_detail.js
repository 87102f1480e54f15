// The ranking page: choosing another period in the picker opens that period's ranking.
(function () {
  "use strict";

  document.addEventListener("DOMContentLoaded", () => {
    const picker = document.getElementById("period-picker");
    if (!picker) return;
    picker.addEventListener("change", () => {
      if (picker.value) window.location.href = picker.value;
    });
  });
})();

;; Time org-element-parse-buffer alone (element granularity and full
;; objects) over FILE, median of RUNS; prints MB/s of CPU time
;; (get-internal-run-time), as parse_bench does for keeper.
(require 'org)
(require 'org-element)
(let* ((file (car command-line-args-left))
       (size (file-attribute-size (file-attributes file)))
       (runs (string-to-number (or (cadr command-line-args-left) "5"))))
  (dolist (gran '(element object))
    (with-temp-buffer
      (let ((coding-system-for-read 'utf-8-dos)) (insert-file-contents file))
      (let ((org-inhibit-startup t)) (delay-mode-hooks (org-mode)))
      (let (times)
        (dotimes (_ runs)
          (garbage-collect)
          (let ((t0 (float-time (get-internal-run-time))))
            (org-element-parse-buffer gran)
            (push (- (float-time (get-internal-run-time)) t0) times)))
        (setq times (sort times #'<))
        (princ (format "%s %.2f\n" gran (/ size 1e6 (nth (/ runs 2) times)))))))
  (setq command-line-args-left nil))

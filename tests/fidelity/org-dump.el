;;; org-dump.el --- print org-element's view in org-dump's JSON shape  -*- lexical-binding: t -*-

;; Usage: emacs --batch -Q -l org-dump.el FILE... > OUT
;; For each file: a {"t":"file","name":...} line, then one JSON object per
;; element, exactly as build/org-dump prints them. A planning's timestamps
;; print as raw text and as their parsed fields (:type, start and end,
;; repeater, warning delay).
;;
;; Files are read as utf-8-dos (CR LF ends a line, lone CR is text, bytes
;; that are not UTF-8 stay raw bytes), #+SETUPFILE is not followed, and
;; org-inlinetask is not loaded: the conventions orgparse follows.

(require 'org)
(require 'org-element)

;; Never fetch or read setup files.
(advice-add 'org-file-contents :override (lambda (&rest _) ""))

(defun od-str (s)
  "S as a JSON string."
  (if (null s) "null"
    (let ((out (list "\"")))
      (dolist (c (string-to-list s))
        (push (cond ((eq c ?\") "\\\"")
                    ((eq c ?\\) "\\\\")
                    ((< c 32) (format "\\u%04x" c))
                    ((> c #x10FFFF) "\\ufffd")
                    (t (string c)))
              out))
      (push "\"" out)
      (apply #'concat (nreverse out)))))

(defun od-line (pos)
  (line-number-at-pos pos t))

(defun od-ts (ts)
  (and ts (org-element-property :raw-value ts)))

(defun od-int (n)
  (if n (format "%d" n) "null"))

(defun od-unit (u)
  (pcase u ('hour "h") ('day "d") ('week "w") ('month "m") ('year "y")))

(defun od-fields (ts &rest props)
  (mapconcat (lambda (p) (od-int (org-element-property p ts))) props ","))

(defun od-ts-parsed (ts)
  "TS's parsed fields as org-dump's put_ts prints them."
  (if (null ts) "null"
    (let ((rt (org-element-property :repeater-type ts))
          (wt (org-element-property :warning-type ts)))
      (format "{\"type\":\"%s\",\"start\":[%s],\"end\":[%s],\"repeater\":%s,\"warning\":%s}"
              (org-element-property :type ts)
              (od-fields ts :year-start :month-start :day-start
                         :hour-start :minute-start)
              (od-fields ts :year-end :month-end :day-end
                         :hour-end :minute-end)
              (if rt
                  (format "[\"%s\",%d,\"%s\"]" rt
                          (org-element-property :repeater-value ts)
                          (od-unit (org-element-property :repeater-unit ts)))
                "null")
              (if wt
                  (format "[\"%s\",%d,\"%s\"]" wt
                          (org-element-property :warning-value ts)
                          (od-unit (org-element-property :warning-unit ts)))
                "null")))))

(defun od-block-name (el)
  (pcase (org-element-type el)
    ('src-block "SRC") ('example-block "EXAMPLE") ('export-block "EXPORT")
    ('comment-block "COMMENT") ('verse-block "VERSE") ('quote-block "QUOTE")
    ('center-block "CENTER")
    ('special-block (upcase (org-element-property :type el)))))

(defun od-rest-of-begin-line (el)
  "The BEGIN line after #+BEGIN_NAME, org-trim'd, or nil."
  (save-excursion
    (goto-char (org-element-property :post-affiliated el))
    (when (looking-at "[ \t]*#\\+BEGIN_\\S-+\\(.*\\)$")
      (let ((r (org-trim (match-string-no-properties 1))))
        (and (not (string= r "")) r)))))

(defun od-raw-contents (el)
  "Text between the BEGIN and END lines."
  (save-excursion
    (goto-char (org-element-property :post-affiliated el))
    (forward-line)
    (let ((b (point)))
      (goto-char (org-element-property :end el))
      ;; Back over blank lines after the block, then the END line.
      (skip-chars-backward " \r\t\n")
      (beginning-of-line)
      (buffer-substring-no-properties (min b (point)) (point)))))

(defun od-element (el)
  (let ((line (od-line (org-element-property :post-affiliated el))))
    (pcase (org-element-type el)
      ('headline
       (format "{\"t\":\"heading\",\"line\":%d,\"level\":%d,\"todo\":%s,\"priority\":%s,\"title\":%s,\"tags\":[%s],\"commented\":%s}"
               (od-line (org-element-property :begin el))
               (org-element-property :level el)
               (od-str (org-element-property :todo-keyword el))
               (let ((p (org-element-property :priority el)))
                 (if p (od-str (string p)) "null"))
               (od-str (org-element-property :raw-value el))
               (mapconcat #'od-str (org-element-property :tags el) ",")
               (if (org-element-property :commentedp el) "true" "false")))
      ('planning
       (format "{\"t\":\"planning\",\"line\":%d,\"scheduled\":%s,\"deadline\":%s,\"closed\":%s,\"scheduled_ts\":%s,\"deadline_ts\":%s,\"closed_ts\":%s}"
               line
               (od-str (od-ts (org-element-property :scheduled el)))
               (od-str (od-ts (org-element-property :deadline el)))
               (od-str (od-ts (org-element-property :closed el)))
               (od-ts-parsed (org-element-property :scheduled el))
               (od-ts-parsed (org-element-property :deadline el))
               (od-ts-parsed (org-element-property :closed el))))
      ('node-property
       (format "{\"t\":\"property\",\"line\":%d,\"key\":%s,\"value\":%s}"
               (od-line (org-element-property :begin el))
               (od-str (org-element-property :key el))
               (od-str (or (org-element-property :value el) ""))))
      ('keyword
       (format "{\"t\":\"keyword\",\"line\":%d,\"key\":%s,\"value\":%s}"
               line
               (od-str (org-element-property :key el))
               (od-str (org-element-property :value el))))
      ('drawer
       (format "{\"t\":\"drawer\",\"line\":%d,\"name\":%s}"
               line (od-str (org-element-property :drawer-name el))))
      ((or 'src-block 'example-block 'export-block 'comment-block
           'verse-block 'quote-block 'center-block 'special-block)
       (let ((src (eq (org-element-type el) 'src-block)))
         (format "{\"t\":\"block\",\"line\":%d,\"name\":%s,\"lang\":%s,\"params\":%s,\"value\":%s}"
                 line
                 (od-str (od-block-name el))
                 (od-str (and src (org-element-property :language el)))
                 (od-str (if src (org-element-property :parameters el)
                           (od-rest-of-begin-line el)))
                 (od-str (if (memq (org-element-type el)
                                   '(src-block example-block export-block
                                               comment-block))
                             (org-element-property :value el)
                           (od-raw-contents el)))))))))

(defun od-walk (node)
  (dolist (child (org-element-contents node))
    (when (consp child)
      (let ((s (od-element child)))
        (when s (princ s) (princ "\n")))
      (unless (memq (org-element-type child)
                    '(src-block example-block export-block comment-block))
        (od-walk child)))))

(defun od-file (file)
  (with-temp-buffer
    (let ((coding-system-for-read 'utf-8-dos))
      (insert-file-contents file))
    (let ((org-inhibit-startup t))
      (delay-mode-hooks (org-mode)))
    (princ (format "{\"t\":\"file\",\"name\":%s}\n" (od-str file)))
    (od-walk (org-element-parse-buffer 'element))))

(let ((coding-system-for-write 'utf-8-unix))
  (dolist (f command-line-args-left)
    (condition-case err
        (od-file f)
      (error (princ (format "{\"t\":\"error\",\"message\":%s}\n"
                            (od-str (format "%S" err)))))))
  (setq command-line-args-left nil))

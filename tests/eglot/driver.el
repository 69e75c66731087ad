;;; driver.el --- claw-lsp end to end in Emacs eglot (a generic LSP client) -*- lexical-binding: t -*-

;; Run as `emacs --batch -l tests/eglot/driver.el` with CLAW_EGLOT_SCENARIO naming a JSON file:
;;   {"workspace": DIR, "file": "app.py", "line": 2 (1-based, the `# claw:` line),
;;    "action": "Claw: <instruction>", "comment": "# claw: <instruction>",
;;    "expected": FINAL BUFFER TEXT, "answer": "Apply" or null (the showMessageRequest answer),
;;    "result": THE MODEL'S FINAL TEXT, "server": "/path/.venv/bin/claw-lsp", "timeout": SECONDS}
;; The server inherits Emacs's environment (the fake Messages API's ANTHROPIC_BASE_URL / _API_KEY).
;; Only standard LSP is used: eglot's own code action menu, workspace/executeCommand,
;; workspace/applyEdit and window/showMessageRequest (answered through `completing-read').
;; Exit 0 and "PASS" on success, else a distinct code per failed check with diagnostics on stderr.

(require 'cl-lib)
(require 'json)
(require 'subr-x)

(defvar claw-exit-codes
  '((load . 2) (start . 3) (no-action . 4) (execute . 5) (timeout . 6) (text . 7)
    (comment . 8) (not-in-buffer . 9) (no-request . 10) (unexpected-request . 11)
    (confirm . 12) (request-message . 13) (run-end . 14) (error . 1))
  "A distinct exit code per failed check.")

(defvar claw-scenario nil)
(defvar claw-buffer nil)
(defvar claw-offered nil "Titles eglot offered in its code action menu.")
(defvar claw-requests nil "Messages of window/showMessageRequest, newest first.")
(defvar claw-confirms nil "y-or-n-p questions (none expected).")
(defvar claw-prompts nil "Every completing-read prompt, newest first.")
(defvar claw-exec-result nil "What the code action's workspace/executeCommand answered.")
(defvar claw-log-messages nil "window/logMessage messages, newest first.")

(defun claw-record-notification (_server method &rest params)
  (when (eq method 'window/logMessage)
    (push (plist-get params :message) claw-log-messages)))

(defun claw-log (fmt &rest args)
  (message "[eglot-driver] %s" (apply #'format fmt args)))

(defun claw-get (key) (cdr (assq key claw-scenario)))

(defun claw-tail (buffer-or-name chars)
  (let ((buf (and buffer-or-name (get-buffer buffer-or-name))))
    (if (not (buffer-live-p buf)) "<none>"
      (with-current-buffer buf
        (buffer-substring-no-properties (max (point-min) (- (point-max) chars)) (point-max))))))

(defun claw-diagnostics ()
  (claw-log "offered actions: %S" claw-offered)
  (claw-log "executeCommand result: %S" claw-exec-result)
  (claw-log "showMessageRequest messages: %S" (reverse claw-requests))
  (claw-log "completing-read prompts: %S" (reverse claw-prompts))
  (claw-log "y-or-n-p questions: %S" (reverse claw-confirms))
  (claw-log "window/logMessage: %S" (reverse claw-log-messages))
  (when (buffer-live-p claw-buffer)
    (claw-log "buffer text:\n%s" (with-current-buffer claw-buffer
                                   (buffer-substring-no-properties (point-min) (point-max)))))
  (let ((server (and (buffer-live-p claw-buffer) (fboundp 'eglot-current-server)
                     (with-current-buffer claw-buffer (eglot-current-server)))))
    (when server
      (claw-log "eglot events (tail):\n%s" (claw-tail (jsonrpc-events-buffer server) 6000))
      (claw-log "server stderr (tail):\n%s"
                (claw-tail (jsonrpc-stderr-buffer server) 4000)))))

(defun claw-fail (what detail &rest args)
  (claw-log "FAIL (%s): %s" what (apply #'format detail args))
  (claw-diagnostics)
  (kill-emacs (or (cdr (assq what claw-exit-codes)) 1)))

(defun claw-wait (seconds predicate)
  "Process events until PREDICATE holds or SECONDS pass; return its last value.
The user is idle meanwhile, so idle timers run as in an interactive Emacs: batch Emacs never
becomes idle by itself, and eglot sends didChange from an idle timer
\=(`eglot-send-changes-idle-time')."
  (let ((deadline (+ (float-time) seconds)) (idle-since (current-time)) (ran nil) value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.05)
      (dolist (timer (copy-sequence timer-idle-list))
        (when (and (not (memq timer ran)) (not (timer--triggered timer))
                   (time-less-p (timer--time timer) (time-since idle-since)))
          (push timer ran)
          (timer-event-handler timer))))
    value))

(defun claw-buffer-text ()
  (with-current-buffer claw-buffer (buffer-substring-no-properties (point-min) (point-max))))

;; The "user": eglot asks through `completing-read' (its code action menu and
;; window/showMessageRequest) and `y-or-n-p' (edit confirmation, expected never to be asked).
(defun claw-completing-read (prompt collection &rest _)
  (push prompt claw-prompts)
  (let ((candidates (mapcar (lambda (c) (if (consp c) (car c) c)) collection)))
    (cond
     ((string-match-p "Pick an action" prompt)
      (setq claw-offered candidates)
      (if (member (claw-get 'action) candidates) (claw-get 'action) ""))
     ((string-match-p "Server reports" prompt)
      (push prompt claw-requests)
      (or (claw-get 'answer) (car candidates)))
     (t (claw-fail 'error "unexpected completing-read: %s %S" prompt candidates)))))

(defun claw-y-or-n-p (prompt)
  (push prompt claw-confirms)
  t)

(defun claw-main ()
  (setq claw-scenario (json-read-file (getenv "CLAW_EGLOT_SCENARIO")))
  (unless (require 'eglot nil t)
    ;; Debian's elpa-eglot lives under site-lisp/elpa; -Q or --no-site-file skip its autoloads.
    (dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
      (add-to-list 'load-path dir))
    (unless (require 'eglot nil t) (claw-fail 'load "cannot load eglot (apt-get install elpa-eglot)")))
  (claw-log "emacs %s, eglot loaded from %s" emacs-version (locate-library "eglot"))
  (advice-add 'eglot-handle-notification :before #'claw-record-notification)
  (fset 'completing-read #'claw-completing-read)
  (fset 'y-or-n-p #'claw-y-or-n-p)
  (fset 'yes-or-no-p #'claw-y-or-n-p)
  (setq eglot-confirm-server-initiated-edits nil
        eglot-sync-connect 0
        eglot-autoshutdown nil
        make-backup-files nil
        create-lockfiles nil)
  (add-to-list 'eglot-server-programs `(python-mode . (,(claw-get 'server))))
  (let* ((workspace (file-name-as-directory (claw-get 'workspace)))
         (path (expand-file-name (claw-get 'file) workspace))
         (timeout (or (claw-get 'timeout) 30))
         (disk-before (with-temp-buffer (insert-file-contents path) (buffer-string))))
    (setq default-directory workspace)
    (setq claw-buffer (find-file-noselect path))
    (set-buffer claw-buffer)
    (unless (derived-mode-p 'python-mode) (python-mode))
    ;; Start the server the way M-x eglot does, without prompts.
    (apply #'eglot (eglot--guess-contact))
    (unless (claw-wait timeout (lambda () (with-current-buffer claw-buffer
                                            (and (eglot-current-server) eglot--managed-mode))))
      (claw-fail 'start "eglot did not connect to %s" (claw-get 'server)))
    (claw-log "connected; code actions at line %d" (claw-get 'line))
    ;; Eglot's own code action command, as `M-x eglot-code-actions' at point on the comment line:
    ;; its menu goes through `completing-read' (not x-popup-menu) when the last event is no mouse event.
    (goto-char (point-min))
    (forward-line (1- (claw-get 'line)))
    (back-to-indentation)
    (let ((last-nonmenu-event t))
      (condition-case err
          (setq claw-exec-result (eglot-code-actions (point) (point) nil t))
        (error (claw-fail 'execute "eglot-code-actions failed: %S" err))))
    (unless (member (claw-get 'action) claw-offered)
      (claw-fail 'no-action "%S not among the offered actions" (claw-get 'action)))
    (unless (and (listp claw-exec-result) (stringp (plist-get claw-exec-result :runId)))
      (claw-fail 'execute "claw.ask did not answer {runId, sessionId}: %S" claw-exec-result))
    (claw-log "run %s started" (plist-get claw-exec-result :runId))
    ;; The agent works; its edits arrive as workspace/applyEdit (and, in default mode, after a
    ;; window/showMessageRequest review answered through completing-read).
    (let ((expected (claw-get 'expected)))
      (unless (claw-wait timeout (lambda () (equal (claw-buffer-text) expected)))
        (let ((text (claw-buffer-text)))
          (cond ((string-search (claw-get 'comment) text)
                 (claw-fail 'comment "the instruction comment is still in the buffer"))
                ((equal text (with-temp-buffer (insert disk-before) (buffer-string)))
                 (claw-fail 'timeout "no edit reached the buffer within %ss" timeout))
                (t (claw-fail 'text "the buffer does not hold the expected text"))))))
    ;; The run's outcome comes as window/logMessage "Claw [<runId>] end_turn: <answer>".
    (let ((outcome (format "Claw [%s] end_turn: %s" (plist-get claw-exec-result :runId)
                           (claw-get 'result))))
      (unless (claw-wait timeout (lambda () (member outcome claw-log-messages)))
        (claw-fail 'run-end "no window/logMessage %S" outcome)))
    ;; Let late requests arrive, then check the buffer holds the edit (not only the disk).
    (claw-wait 0.3 #'ignore)
    (unless (equal (claw-buffer-text) (claw-get 'expected))
      (claw-fail 'text "the buffer changed after reaching the expected text"))
    (unless (buffer-modified-p claw-buffer)
      (claw-fail 'not-in-buffer "the buffer is not modified: the edit bypassed the editor"))
    (unless (equal disk-before (with-temp-buffer (insert-file-contents path) (buffer-string)))
      (claw-fail 'not-in-buffer "the file on disk changed: the edit went around the buffer"))
    (when claw-confirms
      (claw-fail 'confirm "eglot asked to confirm an edit: %S" claw-confirms))
    (if (claw-get 'answer)
        (progn
          (unless claw-requests
            (claw-fail 'no-request "no window/showMessageRequest review was asked"))
          (unless (string-search (concat "Claw wants to edit " (claw-get 'file)) (car (last claw-requests)))
            (claw-fail 'request-message "the review message does not name the file: %S"
                       (car (last claw-requests)))))
      (when claw-requests
        (claw-fail 'unexpected-request "a showMessageRequest was asked in acceptEdits mode")))
    (let ((server (with-current-buffer claw-buffer (eglot-current-server))))
      (ignore-errors (eglot-shutdown server nil 5)))
    (claw-log "offered %S; showMessageRequest %S" claw-offered (reverse claw-requests))
    (claw-log "PASS")
    (kill-emacs 0)))

(condition-case err
    (claw-main)
  (error (claw-fail 'error "Lisp error: %S" err)))

;;; driver.el ends here

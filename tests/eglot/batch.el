;;; batch.el --- many claw-lsp runs in one real Emacs eglot session -*- lexical-binding: t -*-

;; Run as `emacs --batch -l tests/eglot/batch.el' with CLAW_EGLOT_BATCH naming a JSON file:
;;   {"server": "/path/.venv/bin/claw-lsp", "workspace": DIR, "out": DIR, "timeout": SECONDS,
;;    "scenarios": [{"id": "append",
;;                   "idle": 0.5,                      eglot-send-changes-idle-time for this one
;;                   "open": ["append/app.py"],        files Emacs visits (eglot manages them)
;;                   "watch": ["append/other.py"],     files Emacs must not get a modified buffer for
;;                   "start": {"kind": "ask", "file": "append/app.py", "prompt": "..."}
;;                         or {"kind": "action", "file": F, "line": N (1-based), "title": "Claw: ..."},
;;                   "answers": ["Apply", ...],        window/showMessageRequest answers, in order
;;                   "bump": N,                        the first N applyEdits find their buffer's
;;                                                     version moved on (see `claw-batch-bump')
;;                   "timeout": SECONDS}, ...]}        this scenario's own limit (default: the batch's)
;; For each scenario in turn: visit the files, start a fresh session (claw.sessions.new), start the
;; run (workspace/executeCommand claw.ask, or eglot's own code action menu), wait for the run's end
;; (window/logMessage "Claw [RUN] STOP: ..."), let eglot flush its didChange, then record:
;;   OUT/ID/FILE.saved   the buffer as saving it would write it (its own coding system, eol kept)
;;   OUT/ID/FILE.plain   the buffer's text as Emacs holds it (utf-8, LF: shows stray CRs)
;;   OUT/ID/events.log   the scenario's slice of eglot's events buffer and the server's stderr
;;   OUT/results.jsonl   one JSON object per scenario (see `claw-batch-record')
;; then kill the scenario's buffers unsaved (didClose) and go on. The driver judges nothing: the
;; Python test compares the files with the reference texts. Only standard LSP is used.

(require 'cl-lib)
(require 'json)
(require 'subr-x)

(defvar claw-batch-spec nil)
(defvar claw-batch-server nil "The eglot server object, once connected.")
(defvar claw-batch-logs nil "window/logMessage messages of the current scenario, newest first.")
(defvar claw-batch-requests nil "window/showMessageRequest prompts of the current scenario, newest first.")
(defvar claw-batch-answers nil "Answers left for the current scenario.")
(defvar claw-batch-unexpected nil "Questions nobody expected (completing-read, y-or-n-p), newest first.")
(defvar claw-batch-confirms nil "y-or-n-p questions of the current scenario, newest first.")
(defvar claw-batch-offered nil "Titles eglot offered in its code action menu.")
(defvar claw-batch-action nil "The code action title to pick.")

(defvar claw-batch-bumps 0
  "How many more workspace/applyEdit requests find their buffer's version moved on first.")
(defvar claw-batch-bumped 0 "How many applyEdit requests this scenario bumped.")

(defun claw-batch-bump (wedit &rest _)
  "Before eglot applies WEDIT: change each target buffer and change it back (text unchanged).
Eglot's version moves on at once, its didChange follows after the idle time: the edit's version
is stale and eglot refuses it, as when something touched the buffer while the edit was on its way."
  (when (> claw-batch-bumps 0)
    (cl-decf claw-batch-bumps)
    (cl-incf claw-batch-bumped)
    (mapc (lambda (change)
            (let* ((uri (plist-get (plist-get change :textDocument) :uri))
                   (buf (and uri (find-buffer-visiting (eglot--uri-to-path uri)))))
              (when buf
                (with-current-buffer buf
                  (save-excursion
                    (goto-char (point-max))
                    (insert " ")
                    (delete-region (1- (point-max)) (point-max)))))))
          (plist-get wedit :documentChanges))))

(defun claw-batch-log (fmt &rest args)
  (message "[eglot-batch] %s" (apply #'format fmt args)))

(defun claw-batch-get (obj key) (cdr (assq key obj)))

(defun claw-batch-record-notification (_server method &rest params)
  (when (eq method 'window/logMessage)
    (push (plist-get params :message) claw-batch-logs)))

(defun claw-batch-wait (seconds predicate)
  "Process events until PREDICATE holds or SECONDS pass; return its last value.
The user is idle meanwhile, so idle timers run as in an interactive Emacs: batch Emacs never
becomes idle by itself, and eglot sends didChange from an idle timer
\(`eglot-send-changes-idle-time')."
  (let ((deadline (+ (float-time) seconds)) (idle-since (current-time)) (ran nil) value)
    (while (and (not (setq value (funcall predicate))) (< (float-time) deadline))
      (accept-process-output nil 0.02)
      (dolist (timer (copy-sequence timer-idle-list))
        (when (and (not (memq timer ran)) (not (timer--triggered timer))
                   (time-less-p (timer--time timer) (time-since idle-since)))
          (push timer ran)
          (timer-event-handler timer))))
    value))

;; The "user": eglot asks through `completing-read' (its code action menu and
;; window/showMessageRequest) and `y-or-n-p' (confirming an edit to a file no buffer visits).
(defun claw-batch-completing-read (prompt collection &rest _)
  (let ((candidates (mapcar (lambda (c) (if (consp c) (car c) c)) collection)))
    (cond
     ((string-match-p "Pick an action" prompt)
      (setq claw-batch-offered candidates)
      (if (member claw-batch-action candidates) claw-batch-action ""))
     ((string-match-p "Server reports" prompt)
      (push (substring-no-properties prompt) claw-batch-requests)
      (if claw-batch-answers
          (pop claw-batch-answers)
        (push (format "unanswered showMessageRequest: %s %S" prompt candidates) claw-batch-unexpected)
        (car candidates)))
     (t (push (format "completing-read: %s %S" prompt candidates) claw-batch-unexpected)
        (car candidates)))))

(defun claw-batch-y-or-n-p (prompt)
  ;; Say yes, so an edit sent for a file Emacs does not visit shows up as a modified buffer.
  (push (substring-no-properties prompt) claw-batch-confirms)
  t)

(defun claw-batch-path (rel)
  (expand-file-name rel (claw-batch-get claw-batch-spec 'workspace)))

(defun claw-batch-write (file string)
  (make-directory (file-name-directory file) t)
  (let ((coding-system-for-write 'utf-8-unix))
    (write-region string nil file nil 'silent)))

(defun claw-batch-events-text ()
  "The server's jsonrpc events and stderr buffers' text."
  (let ((events (and claw-batch-server (jsonrpc-events-buffer claw-batch-server)))
        (stderr (and claw-batch-server (jsonrpc-stderr-buffer claw-batch-server))))
    (concat (if (buffer-live-p events) (with-current-buffer events (buffer-string)) "")
            "\n--- server stderr ---\n"
            (if (buffer-live-p stderr) (with-current-buffer stderr (buffer-string)) ""))))

(defun claw-batch-clear-events ()
  (dolist (buf (list (and claw-batch-server (jsonrpc-events-buffer claw-batch-server))
                     (and claw-batch-server (jsonrpc-stderr-buffer claw-batch-server))))
    (when (buffer-live-p buf)
      (with-current-buffer buf (let ((inhibit-read-only t)) (erase-buffer))))))

(defun claw-batch-visit (rel timeout)
  "Visit REL in python-mode and wait until eglot manages it; return the buffer."
  (let* ((path (claw-batch-path rel))
         (buf (find-file-noselect path)))
    (with-current-buffer buf
      (unless (derived-mode-p 'python-mode) (python-mode))
      (unless claw-batch-server
        ;; Start the server the way M-x eglot does, without prompts.
        (apply #'eglot (eglot--guess-contact))
        (unless (claw-batch-wait timeout (lambda () (with-current-buffer buf
                                                      (and (eglot-current-server) eglot--managed-mode))))
          (error "eglot did not connect to %s" (claw-batch-get claw-batch-spec 'server)))
        (setq claw-batch-server (eglot-current-server)))
      (unless (claw-batch-wait timeout (lambda () (with-current-buffer buf eglot--managed-mode)))
        (error "eglot does not manage %s" rel)))
    buf))

(defun claw-batch-saved-coding (buf)
  "The coding system saving BUF writes with (an undecided one resolved to UTF-8)."
  (let ((cs (or (buffer-local-value 'buffer-file-coding-system buf) 'utf-8-unix)))
    (if (memq (coding-system-base cs) '(undecided us-ascii))
        (coding-system-change-text-conversion cs 'utf-8)
      cs)))

(defun claw-batch-snapshot (buf dir rel)
  "Write BUF's saved and plain forms under DIR; return its facts."
  (let ((saved (expand-file-name (concat rel ".saved") dir))
        (plain (expand-file-name (concat rel ".plain") dir)))
    (make-directory (file-name-directory saved) t)
    (with-current-buffer buf
      (save-restriction
        (widen)
        (let ((coding-system-for-write (claw-batch-saved-coding buf)))
          (write-region nil nil saved nil 'silent))
        (let ((coding-system-for-write 'utf-8-unix))
          (write-region nil nil plain nil 'silent))))
    `((file . ,rel) (modified . ,(if (buffer-modified-p buf) t :false))
      (coding . ,(symbol-name (claw-batch-saved-coding buf))))))

(defun claw-batch-run-end (run-id)
  "The stop reason of RUN-ID once its end was logged, else nil."
  (let ((re (concat "\\`Claw \\[" (regexp-quote run-id) "\\] \\([a-z_]+\\): ")))
    (cl-some (lambda (m) (and (string-match re m) (match-string 1 m))) claw-batch-logs)))

(defun claw-batch-settled (buffers)
  "True when no buffer in BUFFERS has changes eglot has not sent yet."
  (cl-every (lambda (b) (or (not (buffer-live-p b))
                            (not (buffer-local-value 'eglot--recent-changes b))))
            buffers))

(defun claw-batch-start (start buf)
  "Start the run START describes from BUF; return the claw.ask answer (a plist)."
  (let ((session (plist-get (jsonrpc-request claw-batch-server :workspace/executeCommand
                                             '(:command "claw.sessions.new" :arguments []))
                            :sessionId)))
    (with-current-buffer buf
      (pcase (claw-batch-get start 'kind)
        ("ask"
         (eglot-execute-command
          claw-batch-server "claw.ask"
          (vector `(:uri ,(eglot--path-to-uri buffer-file-name)
                         :prompt ,(claw-batch-get start 'prompt) :sessionId ,session))))
        ("action"
         ;; Eglot's own code action command, as `M-x eglot-code-actions' at point: its menu goes
         ;; through `completing-read' when the last event is no mouse event.
         (setq claw-batch-action (claw-batch-get start 'title) claw-batch-offered nil)
         (goto-char (point-min))
         (forward-line (1- (claw-batch-get start 'line)))
         (back-to-indentation)
         (let ((last-nonmenu-event t))
           (prog1 (eglot-code-actions (point) (point) nil t)
             (unless (member claw-batch-action claw-batch-offered)
               (error "%S not offered; eglot offered %S" claw-batch-action claw-batch-offered)))))
        (kind (error "unknown start kind %S" kind))))))

(defun claw-batch-record (out alist)
  (let ((line (condition-case nil (json-serialize alist)
                (error (json-serialize `((id . ,(claw-batch-get alist 'id))
                                         (error . ,(prin1-to-string alist))))))))
    (with-temp-buffer
      (insert line "\n")
      (let ((coding-system-for-write 'utf-8-unix))
        (write-region nil nil (expand-file-name "results.jsonl" out) t 'silent)))))

(defun claw-batch-scenario (scenario out default-timeout)
  (let* ((id (claw-batch-get scenario 'id))
         (timeout (or (claw-batch-get scenario 'timeout) default-timeout))
         (dir (expand-file-name id out))
         (open (claw-batch-get scenario 'open))
         (watch (claw-batch-get scenario 'watch))
         (start (claw-batch-get scenario 'start))
         (buffers nil) (answer nil) (run-id nil) (stop nil) (error-text nil) (files nil)
         (watched nil) (began (float-time)))
    (setq eglot-send-changes-idle-time (or (claw-batch-get scenario 'idle) 0.5)
          claw-batch-logs nil claw-batch-requests nil claw-batch-unexpected nil
          claw-batch-confirms nil claw-batch-answers (claw-batch-get scenario 'answers)
          claw-batch-bumps (or (claw-batch-get scenario 'bump) 0) claw-batch-bumped 0)
    (condition-case err
        (progn
          (dolist (rel open) (push (claw-batch-visit rel timeout) buffers))
          (setq buffers (nreverse buffers))
          (setq answer (claw-batch-start start (get-file-buffer (claw-batch-path (claw-batch-get start 'file)))))
          (setq run-id (plist-get answer :runId))
          (unless (stringp run-id) (error "claw.ask did not answer {runId, sessionId}: %S" answer))
          (setq stop (claw-batch-wait timeout (lambda () (claw-batch-run-end run-id))))
          (unless stop (error "run %s did not end within %ss" run-id timeout))
          ;; Late edits (an instruction comment's removal) and eglot's pending didChange.
          (claw-batch-wait 0.3 #'ignore)
          (claw-batch-wait timeout (lambda () (claw-batch-settled buffers))))
      (error (setq error-text (format "%S" err))))
    (dolist (rel open)
      (let ((buf (get-file-buffer (claw-batch-path rel))))
        (when (buffer-live-p buf) (push (claw-batch-snapshot buf dir rel) files))))
    (dolist (rel watch)
      (let ((buf (find-buffer-visiting (claw-batch-path rel))))
        (push `((file . ,rel) (buffer . ,(if buf t :false))
                (modified . ,(if (and buf (buffer-modified-p buf)) t :false)))
              watched)))
    (claw-batch-write (expand-file-name "events.log" dir) (claw-batch-events-text))
    (claw-batch-clear-events)
    (claw-batch-record
     out `((id . ,id) (runId . ,(or run-id "")) (stop . ,(or stop ""))
           (error . ,(or error-text ""))
           (seconds . ,(- (float-time) began))
           (files . ,(vconcat (nreverse files))) (watched . ,(vconcat (nreverse watched)))
           (logs . ,(vconcat (reverse claw-batch-logs)))
           (requests . ,(vconcat (reverse claw-batch-requests)))
           (unanswered . ,(length claw-batch-answers))
           (bumped . ,claw-batch-bumped)
           (unexpected . ,(vconcat (reverse claw-batch-unexpected)))
           (confirms . ,(vconcat (reverse claw-batch-confirms)))))
    ;; Close the scenario's buffers unsaved (didClose), so the next scenario starts clean.
    (dolist (buf (buffer-list))
      (let ((file (buffer-file-name buf)))
        (when (and file (or (member file (mapcar #'claw-batch-path open))
                            (member file (mapcar #'claw-batch-path watch))))
          (with-current-buffer buf (set-buffer-modified-p nil))
          (kill-buffer buf))))
    (claw-batch-wait 0.05 #'ignore)
    (claw-batch-log "%s: %s%s (%.1fs)" id (or stop "no end")
                    (if error-text (concat " ERROR " error-text) "") (- (float-time) began))))

(defun claw-batch-main ()
  (setq claw-batch-spec (with-temp-buffer
                          (let ((coding-system-for-read 'utf-8))
                            (insert-file-contents (getenv "CLAW_EGLOT_BATCH")))
                          (json-parse-buffer :object-type 'alist :array-type 'list
                                             :null-object nil :false-object nil)))
  (set-language-environment "UTF-8")
  (prefer-coding-system 'utf-8)
  (unless (require 'eglot nil t)
    ;; Debian's elpa-eglot lives under site-lisp/elpa; -Q or --no-site-file skip its autoloads.
    (dolist (dir (file-expand-wildcards "/usr/share/emacs/site-lisp/elpa/*"))
      (add-to-list 'load-path dir))
    (unless (require 'eglot nil t)
      (claw-batch-log "FAIL: cannot load eglot (apt-get install elpa-eglot)")
      (kill-emacs 2)))
  (claw-batch-log "emacs %s, eglot loaded from %s" emacs-version (locate-library "eglot"))
  (advice-add 'eglot-handle-notification :before #'claw-batch-record-notification)
  (advice-add 'eglot--apply-workspace-edit :before #'claw-batch-bump)
  (fset 'completing-read #'claw-batch-completing-read)
  (fset 'y-or-n-p #'claw-batch-y-or-n-p)
  (fset 'yes-or-no-p #'claw-batch-y-or-n-p)
  (let* ((workspace (file-name-as-directory (claw-batch-get claw-batch-spec 'workspace)))
         (out (claw-batch-get claw-batch-spec 'out))
         (timeout (or (claw-batch-get claw-batch-spec 'timeout) 30)))
    (setq eglot-confirm-server-initiated-edits nil
          eglot-sync-connect 0
          eglot-autoshutdown nil
          make-backup-files nil
          create-lockfiles nil
          auto-save-default nil
          large-file-warning-threshold nil
          enable-local-variables nil
          enable-dir-local-variables nil
          auto-mode-alist nil
          magic-mode-alist nil
          interpreter-mode-alist nil
          default-directory workspace)
    ;; One project (and so one server) for every file under the workspace, VCS or not.
    (add-hook 'project-find-functions
              (lambda (dir)
                (when (string-prefix-p workspace (file-name-as-directory (expand-file-name dir)))
                  (cons 'transient workspace))))
    (add-to-list 'eglot-server-programs `(python-mode . (,(claw-batch-get claw-batch-spec 'server))))
    (make-directory out t)
    (dolist (scenario (claw-batch-get claw-batch-spec 'scenarios))
      (claw-batch-scenario scenario out timeout))
    (when claw-batch-server (ignore-errors (eglot-shutdown claw-batch-server nil 5)))
    (claw-batch-log "DONE")
    (kill-emacs 0)))

(condition-case err
    (claw-batch-main)
  (error (claw-batch-log "FAIL: Lisp error: %S" err)
         (ignore-errors (message "%s" (claw-batch-events-text)))
         (kill-emacs 1)))

;;; batch.el ends here

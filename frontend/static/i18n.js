// i18n.js: the pages' words in English and Japanese.
//
// The server sets <html lang> from Accept-Language; a choice made with the
// language switch is kept in localStorage and wins. Static text carries
// data-i18n="key" (its text) or data-i18n-attr="attr:key;attr:key"; text
// built by scripts goes through t() or render(), which remembers what it
// rendered so a language switch can render it again.

const dict = {
  en: {
    "lang.label": "Language",
    "common.cancel": "Cancel",
    "common.working": "Working…",
    "common.sending": "Sending…",
    "common.checking": "Checking…",
    "common.signingIn": "Signing in…",
    "common.saving": "Saving…",
    "common.removing": "Removing…",
    "common.waitingPasskey": "Waiting for your passkey…",

    "err.bad_request": "Something in the request was not right. Check it and try again.",
    "err.unauthorized": "Please sign in again.",
    "err.forbidden": "That is not allowed.",
    "err.not_found": "That was not found. It may have been removed already.",
    "err.conflict": "That is already registered.",
    "err.invalid_code": "That code is not right.",
    "err.invalid_code_left": "That code is not right. Tries left: {n}.",
    "err.expired": "This code or link has expired. Please start again.",
    "err.used": "This link or code was already used. Please start again.",
    "err.invalid_credentials": "The email address or password is not right.",
    "err.ceremony_failed": "That passkey could not be used. Try again, or choose another way.",
    "err.rate_limited": "Too many tries. Please wait a moment and try again.",
    "err.rate_limited_s": "Too many tries. Try again in {s} seconds.",
    "err.rate_limited_m": "Too many tries. Try again in {m} minutes.",
    "err.too_large": "That was too large.",
    "err.reauth_required": "Please confirm it's you first.",
    "err.internal": "Something went wrong on our side. Please try again.",
    "err.unavailable": "We couldn't reach the server. Check your connection and try again.",
    "err.email_invalid": "Enter a valid email address, like name@example.com.",
    "err.code_format": "Enter the 6-digit code from the email.",
    "err.passkey_cancelled": "The passkey request was cancelled or timed out.",
    "err.passkey_exists": "This device already has a passkey for your account.",
    "err.passkey_unsupported": "This browser can't use passkeys here.",
    "err.password_empty": "Enter your password.",
    "err.password_short": "Use at least 8 characters.",
    "err.password_long": "Use at most 128 characters.",
    "err.password_mismatch": "The two passwords are not the same.",
    "err.password_chars": "The password has a control or private-use character. Use letters, digits, spaces and symbols.",
    "err.password_proof": "The server could not prove it knows your password, so we stopped. Try again.",
    "err.name_empty": "Enter a name.",
    "err.crypto": "This browser can't do the password check. Use another way to sign in.",
    "err.email_empty": "Enter your email address.",
    "err.send_limit_first": "We've sent as many codes to this address as we can for now. Use the last code we sent, or try again in {t}.",
    "err.code_tries": "Too many wrong codes: this code no longer works. Send a new code.",
    "err.code_expired": "This code has expired: codes work for 15 minutes. Send a new code.",
    "err.code_used": "This code was already used. Send a new code to sign in.",
    "err.password_wrong": "That password is not right, or this address has no password. You can get a code by email instead.",

    "signin.title": "Sign in · Sesame",
    "signin.heading": "Sign in to Sesame",
    "signin.intro": "New here? Enter your email and we'll set up your account.",
    "signin.email": "Email address",
    "signin.emailCode": "Email me a link and code",
    "signin.password": "I have a password",
    "signin.continue": "Continue",
    "signin.otherWays": "Other ways:",
    "signin.securityKey": "Use a security key",
    "signin.or": "or",
    "signin.passkey": "Sign in with a passkey",
    "signin.signedIn": "Signed in.",

    "signedin.heading": "You're signed in",
    "signedin.as": "You're signed in as {email}.",
    "signedin.continue": "Continue to your account",
    "signedin.signOut": "Sign out",
    "signedin.signedOut": "You're signed out.",
    "signedout.everywhere": "You're signed out on every device.",
    "signedout.ended": "You were signed out on this device: your session was ended from another device (when a password or passkey is removed, say), or it ran out. Sign in again to continue.",

    "code.heading": "Check your email",
    "code.sent": "We sent a link and a 6-digit code to {email}. Open the link on this device, or enter the code here.",
    "code.label": "6-digit code",
    "code.submit": "Continue",
    "code.resend": "Send a new code",
    "code.resendIn": "Send a new code in {t}",
    "code.resent": "We sent a new code. Earlier codes no longer work.",
    "code.sendLimit": "You've asked for several codes in a short time. The last code we sent still works: check your email. You can ask for a new one in {t}.",
    "code.otherAddress": "Use another address",

    "password.heading": "Enter your password",
    "password.for": "Signing in as {email}",
    "password.label": "Password",
    "password.show": "Show password",
    "password.submit": "Continue",
    "password.otherWay": "Choose another way",
    "password.emailInstead": "Email me a code instead",

    "mfa.heading": "One more step",
    "mfa.intro": "A password is always followed by a second step. Choose how to confirm it's you.",
    "mfa.email": "Email me a code",
    "mfa.passkey": "Use a passkey or security key",
    "mfa.sent": "We sent a 6-digit code to your email address. It works for 5 minutes.",
    "mfa.restart": "Start over",
    "mfa.totp": "Use an authenticator app",
    "mfa.recovery": "Use a recovery code",
    "mfa.totpLabel": "6-digit code from your authenticator app",
    "mfa.recoveryLabel": "Recovery code",
    "mfa.otherWay": "Choose another way",
    "err.recovery_format": "A recovery code is ten letters and digits, like 4kq7m-x2c9p.",
    "err.recovery_wrong": "That address and recovery code do not match, or the code was already used.",
    "recovery.link": "Can't use your passkey or email? Use a recovery code",
    "recovery.heading": "Sign in with a recovery code",
    "recovery.intro": "Use one of the recovery codes you saved. Each code works once.",
    "recovery.code": "Recovery code",
    "recovered.heading": "Add a passkey now",
    "recovered.text": "You signed in with a recovery code. Add a passkey on this device so you won't need one next time, then make a new set of recovery codes on your account page.",
    "recovered.left": "Recovery codes left: {n}.",
    "recovered.account": "Go to your account",
    "recovered.added": "Passkey added. Now make a new set of recovery codes.",
    "profile.heading": "Name and email",
    "profile.name": "Your name",
    "profile.nameHint": "Shown on this page and to apps you sign in to. Up to 64 characters.",
    "profile.saveName": "Save name",
    "profile.nameSaved": "Name saved.",
    "profile.email": "Your email address is {email}.",
    "profile.changeEmail": "Change email address",
    "profile.newEmail": "New email address",
    "profile.sendCode": "Send a code",
    "profile.sent": "We sent a 6-digit code to {email}. It works for 15 minutes.",
    "profile.confirmEmail": "Confirm new address",
    "profile.emailChanged": "Email address changed. Sign-in mail now goes to the new address.",
    "err.name_long": "A name is at most 64 characters.",
    "totp.heading": "Authenticator app",
    "totp.has": "An authenticator app is set up. Its codes can follow your password.",
    "totp.none": "No authenticator app is set up.",
    "totp.setup": "Set up an authenticator app",
    "totp.replace": "Set up again",
    "totp.remove": "Remove authenticator app",
    "totp.scan": "Scan this QR code with your authenticator app, or type in the key by hand.",
    "totp.qr": "QR code for your authenticator app",
    "totp.key": "Key",
    "totp.code": "6-digit code from the app",
    "totp.confirm": "Confirm",
    "totp.added": "Authenticator app set up.",
    "totp.removed": "Authenticator app removed.",
    "totp.confirmRemoveTitle": "Remove the authenticator app?",
    "totp.confirmRemove": "Its codes will no longer sign you in. Your other devices will be signed out.",
    "rc.heading": "Recovery codes",
    "rc.intro": "If you lose your passkeys and your email, a recovery code gets you back in. Each works once.",
    "rc.left": "Recovery codes left: {n}.",
    "rc.none": "You have no recovery codes.",
    "rc.make": "Make recovery codes",
    "rc.remake": "Make a new set",
    "rc.saveThem": "Save these codes somewhere safe now: they will not be shown again. Earlier codes no longer work.",
    "rc.done": "I've saved them",
    "rc.made": "New recovery codes made.",
    "rc.confirmRemakeTitle": "Make a new set of codes?",
    "rc.confirmRemake": "Your current recovery codes will stop working.",
    "del.heading": "Delete your account",
    "del.intro": "Deletes your account with its passkeys, password, authenticator app, recovery codes and sessions. This cannot be undone.",
    "del.button": "Delete account",
    "del.confirmTitle": "Delete your account?",
    "del.confirm": "Your passkeys, password, authenticator app, recovery codes and sessions will be deleted, and apps will lose access. This cannot be undone.",
    "del.done": "Your account was deleted.",

    "offer.heading": "Sign in faster next time",
    "offer.text": "Add a passkey and sign in with your fingerprint, face or screen lock. No codes, no passwords.",
    "offer.add": "Add a passkey",
    "offer.skip": "Not now",
    "offer.added": "Passkey added.",

    "link.title": "Confirm sign-in · Sesame",
    "link.heading": "Confirm sign-in",
    "link.checking": "Checking your link…",
    "link.signingInAs": "You are signing in as {email} on this device.",
    "link.notYou": "If you didn't ask to sign in, close this page: nothing happens until you press the button.",
    "link.confirm": "Sign in",
    "link.incomplete": "This link is incomplete. Copy the whole link from the email.",
    "link.back": "Back to sign-in",
    "link.brokenHeading": "This link doesn't work",
    "link.cut": "This link is not complete: your mail app may have cut it off. Copy the whole link from the email, or enter the 6-digit code from the same email on the sign-in page.",
    "link.expired": "This link has expired: links work for 15 minutes. Ask for a new one on the sign-in page.",
    "link.used": "This link was already used: each link works once. To sign in again, go to the sign-in page.",

    "account.title": "Your account · Sesame",
    "account.heading": "Your account",
    "account.loading": "Loading…",
    "account.signedInAs": "Signed in as {email}",
    "account.signOut": "Sign out",

    "passkeys.heading": "Passkeys",
    "passkeys.intro": "Sign in with your fingerprint, face, screen lock or a security key.",
    "passkeys.none": "You have no passkeys yet.",
    "passkeys.add": "Add a passkey",
    "passkeys.addKey": "Add a security key",
    "passkeys.synced": "Synced to your devices",
    "passkeys.deviceBound": "Kept on one device",
    "passkeys.created": "Added {date}",
    "passkeys.lastUsed": "last used {when}",
    "passkeys.neverUsed": "not used yet",
    "passkeys.rename": "Rename",
    "passkeys.renameLabel": "Rename {name}",
    "passkeys.removeLabel": "Remove {name}",
    "passkeys.remove": "Remove",
    "passkeys.name": "Name",
    "passkeys.save": "Save",
    "passkeys.renamed": "Passkey renamed.",
    "passkeys.removed": "Passkey removed.",
    "passkeys.added": "Passkey added.",
    "passkeys.confirmRemove": "Remove the passkey “{name}”? You won't be able to sign in with it any more, and your other devices will be signed out.",
    "passkeys.defaultName": "Passkey",

    "pw.heading": "Password",
    "pw.has": "You have a password. After it, a second step is always asked.",
    "pw.none": "You have no password, and you don't need one: passkeys and email codes are enough.",
    "pw.set": "Set a password",
    "pw.change": "Change password",
    "pw.remove": "Remove password",
    "pw.new": "New password",
    "pw.again": "Type it again",
    "pw.rules": "8 to 128 characters. Longer is stronger: a few words together make a good one.",
    "pw.save": "Save password",
    "pw.saved": "Password saved.",
    "pw.removed": "Password removed.",
    "pw.confirmRemove": "Remove your password? You can still sign in with a passkey or an email code. Your other devices will be signed out.",

    "activity.heading": "Recent activity",
    "activity.intro": "Sign-ins and changes to how you sign in, newest first. Something you don't recognise? Sign out everywhere and remove what you don't know.",
    "activity.none": "Nothing yet.",
    "activity.more": "Show more",
    "activity.sign_in": "Signed in with {method}",
    "activity.sign_in.failed": "A sign-in with {method} failed",
    "activity.sign_up": "Account created",
    "activity.refresh_reused": "A session was used twice, as a copied one would be, so it was ended",
    "activity.session_ended": "A device was signed out",
    "activity.all_sessions_ended": "Signed out everywhere",
    "activity.passkey_added": "Passkey added",
    "activity.passkey_removed": "Passkey removed",
    "activity.passkey_renamed": "Passkey renamed",
    "activity.password_set": "Password set",
    "activity.password_removed": "Password removed",
    "activity.possible_clone.failed": "A sign-in with a passkey that may have been copied was refused",
    "activity.possible_clone": "A sign-in with a passkey that may have been copied was refused",
    "activity.other": "Account changed",
    "activity.other.failed": "Something was tried and refused",
    "activity.method.passkey": "a passkey",
    "activity.method.email_code": "an email code",
    "activity.method.email_link": "an email link",
    "activity.method.password": "a password",
    "activity.method.password_email": "a password and an email code",
    "activity.method.password_passkey": "a password and a passkey",
    "activity.recovery_codes_created": "New recovery codes made",
    "activity.recovery_code_used": "A recovery code was used",
    "activity.totp_added": "Authenticator app set up",
    "activity.totp_removed": "Authenticator app removed",
    "activity.name_changed": "Name changed",
    "activity.email_change_started": "A change of email address was asked for",
    "activity.email_changed": "Email address changed",
    "activity.account_disabled": "Account disabled by the administrator",
    "activity.account_enabled": "Account enabled by the administrator",
    "activity.method.password_totp": "a password and an authenticator app",
    "activity.method.password_recovery_code": "a password and a recovery code",
    "activity.method.recovery_code": "a recovery code",
    "activity.method.other": "another way",
    "sessions.heading": "Where you're signed in",
    "sessions.thisDevice": "This device",
    "sessions.lastActive": "Active {when}",
    "sessions.signedInWith": "Signed in with {method}",
    "sessions.signedInWhen": "Signed in {when} with {method}",
    "sessions.end": "Sign out this device",
    "sessions.endLabel": "Sign out this device: {device}, signed in {when}",
    "sessions.confirmAllTitle": "Sign out everywhere?",
    "passkeys.confirmRemoveTitle": "Remove this passkey?",
    "pw.confirmRemoveTitle": "Remove your password?",
    "sessions.ended": "That session has ended.",
    "sessions.signOutAll": "Sign out everywhere",
    "sessions.confirmAll": "Sign out on every device, this one included?",
    "sessions.unknownDevice": "Unknown device",
    "device": "{browser} on {os}",
    "method.passkey": "a passkey",
    "method.email": "an email link or code",
    "method.password": "a password and a second step",
    "method.other": "another method",

    "reauth.heading": "Confirm it's you",
    "reauth.intro": "For your security, confirm it's you before changing how you sign in.",
    "reauth.passkey": "Use a passkey",
    "reauth.email": "Email me a code",
    "reauth.sent": "We sent a 6-digit code to {email}.",
    "reauth.confirm": "Confirm",
    "reauth.wrongUser": "That passkey belongs to another account.",

    "handover.title": "Sign in to {app} · Sesame",
    "handover.heading": "Sign in to {app} with Sesame",
    "handover.intro": "{app} uses Sesame to sign you in. New here? Enter your email and we'll set up your account.",
    "handover.checking": "Signing in to {app}…",
    "handover.returning": "Returning to {app}…",
    "handover.cancel": "Cancel and return to {app}",
    "handover.continue": "Continue to {app}",
    "handover.reauthHeading": "Confirm it's you",
    "handover.reauthIntro": "{app} asks you to sign in again before it lets you in.",
    "handover.elsewhereHeading": "You're signed in",
    "handover.elsewhere": "You finished signing in to {app} in another tab. You can close this one.",
    "handover.goneHeading": "This sign-in has expired",
    "handover.gone": "A sign-in from an app works once, for 10 minutes. Go back to the app and sign in there again.",
    "handover.account": "Go to your Sesame account",
    "handover.retry": "Try again",

    "consent.heading": "Allow {app} to use your Sesame account?",
    "consent.as": "Signed in as {email}",
    "consent.willSee": "If you allow it, {app} gets:",
    "consent.later": "You can take this back at any time on your Sesame account page.",
    "consent.allow": "Allow",
    "consent.deny": "Deny",
    "consent.switch": "Use another account",

    "scope.openid": "An ID for your account, so it knows you next time",
    "scope.email": "Your email address",
    "scope.profile": "Your name",
    "scope.offline_access": "Staying signed in while you're away",
    "scopeShort.openid": "your account ID",
    "scopeShort.email": "your email address",
    "scopeShort.profile": "your name",
    "scopeShort.offline_access": "stays signed in",

    "stepup.heading": "{app} asks for a passkey",
    "stepup.phr": "{app} accepts only a sign-in with a passkey or a security key, which can't be phished or guessed. Use yours to continue.",
    "stepup.phrh": "{app} accepts only a security key, or a passkey that stays on one device (not one synced to your other devices). Use one to continue.",
    "stepup.use": "Use a passkey or security key",
    "stepup.noneYet": "No passkey yet? Add one on your Sesame account page, then sign in to {app} again.",
    "stepup.notEnough": "That passkey is synced to other devices. {app} needs a security key or a passkey kept on one device.",

    "signout.title": "Sign out · Sesame",
    "signout.heading": "Sign out of Sesame?",
    "signout.fromApp": "{app} asks you to sign out. This signs you out of Sesame on this device, and apps that use it will ask you to sign in again.",
    "signout.confirm": "Sign out",
    "signout.stay": "Stay signed in",
    "signout.doneHeading": "You are signed out",
    "signout.doneText": "You are signed out of Sesame on this device.",
    "signout.signIn": "Sign in again",
    "signout.returning": "Signed out. Returning to {app}…",
    "signout.expired": "This sign-out request has expired, but you can still sign out of Sesame here.",
    "signout.anApp": "the app",

    "apps.heading": "Apps",
    "apps.intro": "Apps you let sign you in with your Sesame account.",
    "apps.none": "You haven't let any apps use your account.",
    "apps.sees": "Sees {list}",
    "apps.allowed": "Allowed {date}",
    "apps.lastUsed": "last used {when}",
    "apps.neverUsed": "not used yet",
    "apps.remove": "Remove access",
    "apps.removeLabel": "Remove access for {name}",
    "apps.confirmRemove": "Remove access for “{name}”? It can no longer use your Sesame account, and it will ask for your permission again the next time you sign in to it.",
    "apps.removed": "Access removed.",

    "link.forApp": "Then you'll go back to {app}.",
  },

  ja: {
    "lang.label": "言語",
    "common.cancel": "キャンセル",
    "common.working": "処理中…",
    "common.sending": "送信中…",
    "common.checking": "確認中…",
    "common.signingIn": "サインイン中…",
    "common.saving": "保存中…",
    "common.removing": "削除中…",
    "common.waitingPasskey": "パスキーの操作を待っています…",

    "err.bad_request": "入力内容に問題があります。確認してもう一度お試しください。",
    "err.unauthorized": "もう一度サインインしてください。",
    "err.forbidden": "この操作は許可されていません。",
    "err.not_found": "見つかりませんでした。すでに削除された可能性があります。",
    "err.conflict": "すでに登録されています。",
    "err.invalid_code": "コードが正しくありません。",
    "err.invalid_code_left": "コードが正しくありません。あと{n}回試せます。",
    "err.expired": "このコードまたはリンクは有効期限が切れています。最初からやり直してください。",
    "err.used": "このリンクまたはコードはすでに使用されています。最初からやり直してください。",
    "err.invalid_credentials": "メールアドレスまたはパスワードが正しくありません。",
    "err.ceremony_failed": "このパスキーは使用できませんでした。もう一度試すか、別の方法を選んでください。",
    "err.rate_limited": "試行回数が多すぎます。しばらく待ってからもう一度お試しください。",
    "err.rate_limited_s": "試行回数が多すぎます。{s}秒後にもう一度お試しください。",
    "err.rate_limited_m": "試行回数が多すぎます。{m}分後にもう一度お試しください。",
    "err.too_large": "データが大きすぎます。",
    "err.reauth_required": "先に本人確認をしてください。",
    "err.internal": "サーバーで問題が発生しました。もう一度お試しください。",
    "err.unavailable": "サーバーに接続できませんでした。接続を確認してもう一度お試しください。",
    "err.email_invalid": "name@example.com のような有効なメールアドレスを入力してください。",
    "err.code_format": "メールに記載された6桁のコードを入力してください。",
    "err.passkey_cancelled": "パスキーの操作がキャンセルされたか、時間切れになりました。",
    "err.passkey_exists": "このデバイスにはすでにこのアカウントのパスキーがあります。",
    "err.passkey_unsupported": "このブラウザではここでパスキーを使用できません。",
    "err.password_empty": "パスワードを入力してください。",
    "err.password_short": "8文字以上にしてください。",
    "err.password_long": "128文字以内にしてください。",
    "err.password_mismatch": "2つのパスワードが一致しません。",
    "err.password_chars": "パスワードに制御文字または私用文字が含まれています。文字、数字、空白、記号を使ってください。",
    "err.password_proof": "サーバーがパスワードを確認できなかったため、処理を中止しました。もう一度お試しください。",
    "err.name_empty": "名前を入力してください。",
    "err.crypto": "このブラウザではパスワードの確認ができません。別の方法でサインインしてください。",
    "err.email_empty": "メールアドレスを入力してください。",
    "err.send_limit_first": "このアドレスに送れるコードの数が上限に達しました。最後に送ったコードを使うか、{t} 後にもう一度お試しください。",
    "err.code_tries": "間違ったコードが多すぎたため、このコードは使えなくなりました。新しいコードを送信してください。",
    "err.code_expired": "このコードは有効期限が切れています（有効期限は15分です）。新しいコードを送信してください。",
    "err.code_used": "このコードはすでに使用されています。サインインするには新しいコードを送信してください。",
    "err.password_wrong": "パスワードが正しくないか、このアドレスにはパスワードが設定されていません。代わりにメールでコードを受け取れます。",

    "signin.title": "サインイン · Sesame",
    "signin.heading": "Sesame にサインイン",
    "signin.intro": "はじめての方も、メールアドレスを入力するとアカウントを作成できます。",
    "signin.email": "メールアドレス",
    "signin.emailCode": "リンクとコードをメールで受け取る",
    "signin.password": "パスワードを設定済みの場合",
    "signin.continue": "続ける",
    "signin.otherWays": "その他の方法：",
    "signin.securityKey": "セキュリティキーを使う",
    "signin.or": "または",
    "signin.passkey": "パスキーでサインイン",
    "signin.signedIn": "サインインしました。",

    "signedin.heading": "サインインしています",
    "signedin.as": "{email} としてサインインしています。",
    "signedin.continue": "アカウントページへ進む",
    "signedin.signOut": "サインアウト",
    "signedin.signedOut": "サインアウトしました。",
    "signedout.everywhere": "すべてのデバイスでサインアウトしました。",
    "signedout.ended": "このデバイスではサインアウトされました。別のデバイスからセッションが終了された（パスワードやパスキーを削除したときなど）か、有効期限が切れました。続けるにはもう一度サインインしてください。",

    "code.heading": "メールを確認してください",
    "code.sent": "{email} にリンクと6桁のコードを送信しました。このデバイスでリンクを開くか、ここにコードを入力してください。",
    "code.label": "6桁のコード",
    "code.submit": "続ける",
    "code.resend": "コードを再送信",
    "code.resendIn": "{t} 後にコードを再送信できます",
    "code.resent": "新しいコードを送信しました。以前のコードは使えません。",
    "code.sendLimit": "短い間に何度もコードを求められました。最後に送ったコードはまだ使えます。メールを確認してください。新しいコードは {t} 後に送信できます。",
    "code.otherAddress": "別のメールアドレスを使う",

    "password.heading": "パスワードを入力",
    "password.for": "{email} としてサインイン",
    "password.label": "パスワード",
    "password.show": "パスワードを表示",
    "password.submit": "続ける",
    "password.otherWay": "別の方法を選ぶ",
    "password.emailInstead": "代わりにメールでコードを受け取る",

    "mfa.heading": "もう1ステップ",
    "mfa.intro": "パスワードの後には、必ず2つ目の確認があります。本人確認の方法を選んでください。",
    "mfa.email": "コードをメールで受け取る",
    "mfa.passkey": "パスキーまたはセキュリティキーを使う",
    "mfa.sent": "登録済みのメールアドレスに6桁のコードを送信しました。有効期限は5分です。",
    "mfa.restart": "最初からやり直す",
    "mfa.totp": "認証アプリを使う",
    "mfa.recovery": "リカバリーコードを使う",
    "mfa.totpLabel": "認証アプリの6桁のコード",
    "mfa.recoveryLabel": "リカバリーコード",
    "mfa.otherWay": "別の方法を選ぶ",
    "err.recovery_format": "リカバリーコードは 4kq7m-x2c9p のような10文字の英数字です。",
    "err.recovery_wrong": "メールアドレスとリカバリーコードが一致しないか、そのコードは使用済みです。",
    "recovery.link": "パスキーもメールも使えない場合は、リカバリーコードを使う",
    "recovery.heading": "リカバリーコードでサインイン",
    "recovery.intro": "保存しておいたリカバリーコードを1つ入力してください。各コードは1回だけ使えます。",
    "recovery.code": "リカバリーコード",
    "recovered.heading": "今すぐパスキーを追加しましょう",
    "recovered.text": "リカバリーコードでサインインしました。次回コードが不要になるよう、このデバイスにパスキーを追加し、アカウントページで新しいリカバリーコードを作成してください。",
    "recovered.left": "残りのリカバリーコード: {n}",
    "recovered.account": "アカウントへ移動",
    "recovered.added": "パスキーを追加しました。次に新しいリカバリーコードを作成してください。",
    "profile.heading": "名前とメールアドレス",
    "profile.name": "名前",
    "profile.nameHint": "このページと、サインインするアプリに表示されます。64文字まで。",
    "profile.saveName": "名前を保存",
    "profile.nameSaved": "名前を保存しました。",
    "profile.email": "メールアドレスは {email} です。",
    "profile.changeEmail": "メールアドレスを変更",
    "profile.newEmail": "新しいメールアドレス",
    "profile.sendCode": "コードを送信",
    "profile.sent": "{email} に6桁のコードを送信しました。有効期限は15分です。",
    "profile.confirmEmail": "新しいアドレスを確定",
    "profile.emailChanged": "メールアドレスを変更しました。サインイン用のメールは新しいアドレスに届きます。",
    "err.name_long": "名前は64文字までです。",
    "totp.heading": "認証アプリ",
    "totp.has": "認証アプリが設定されています。パスワードの後にそのコードを使えます。",
    "totp.none": "認証アプリは設定されていません。",
    "totp.setup": "認証アプリを設定",
    "totp.replace": "設定し直す",
    "totp.remove": "認証アプリを削除",
    "totp.scan": "認証アプリでこのQRコードを読み取るか、キーを手で入力してください。",
    "totp.qr": "認証アプリ用のQRコード",
    "totp.key": "キー",
    "totp.code": "アプリに表示された6桁のコード",
    "totp.confirm": "確定",
    "totp.added": "認証アプリを設定しました。",
    "totp.removed": "認証アプリを削除しました。",
    "totp.confirmRemoveTitle": "認証アプリを削除しますか？",
    "totp.confirmRemove": "そのコードではサインインできなくなります。他のデバイスはサインアウトされます。",
    "rc.heading": "リカバリーコード",
    "rc.intro": "パスキーとメールの両方を失っても、リカバリーコードでアカウントに戻れます。各コードは1回だけ使えます。",
    "rc.left": "残りのリカバリーコード: {n}",
    "rc.none": "リカバリーコードはありません。",
    "rc.make": "リカバリーコードを作成",
    "rc.remake": "新しいセットを作成",
    "rc.saveThem": "今すぐこれらのコードを安全な場所に保存してください。再表示はできません。以前のコードは使えなくなりました。",
    "rc.done": "保存しました",
    "rc.made": "新しいリカバリーコードを作成しました。",
    "rc.confirmRemakeTitle": "新しいコードを作成しますか？",
    "rc.confirmRemake": "現在のリカバリーコードは使えなくなります。",
    "del.heading": "アカウントを削除",
    "del.intro": "アカウントと、そのパスキー、パスワード、認証アプリ、リカバリーコード、セッションを削除します。元に戻せません。",
    "del.button": "アカウントを削除",
    "del.confirmTitle": "アカウントを削除しますか？",
    "del.confirm": "パスキー、パスワード、認証アプリ、リカバリーコード、セッションが削除され、アプリはアクセスできなくなります。元に戻せません。",
    "del.done": "アカウントを削除しました。",

    "offer.heading": "次回はもっと簡単にサインイン",
    "offer.text": "パスキーを追加すると、指紋・顔認証・画面ロックでサインインできます。コードもパスワードも不要です。",
    "offer.add": "パスキーを追加",
    "offer.skip": "今はしない",
    "offer.added": "パスキーを追加しました。",

    "link.title": "サインインの確認 · Sesame",
    "link.heading": "サインインの確認",
    "link.checking": "リンクを確認しています…",
    "link.signingInAs": "このデバイスで {email} としてサインインします。",
    "link.notYou": "サインインを依頼していない場合は、このページを閉じてください。ボタンを押すまで何も起こりません。",
    "link.confirm": "サインイン",
    "link.incomplete": "リンクが不完全です。メールからリンク全体をコピーしてください。",
    "link.back": "サインインに戻る",
    "link.brokenHeading": "このリンクは使えません",
    "link.cut": "このリンクは途中で切れています。メールアプリが途中で切った可能性があります。メールからリンク全体をコピーするか、同じメールにある6桁のコードをサインインページで入力してください。",
    "link.expired": "このリンクは有効期限が切れています（リンクの有効期限は15分です）。サインインページで新しいリンクを受け取ってください。",
    "link.used": "このリンクはすでに使用されています。リンクは1回だけ使えます。もう一度サインインするには、サインインページへ進んでください。",

    "account.title": "アカウント · Sesame",
    "account.heading": "アカウント",
    "account.loading": "読み込み中…",
    "account.signedInAs": "{email} でサインイン中",
    "account.signOut": "サインアウト",

    "passkeys.heading": "パスキー",
    "passkeys.intro": "指紋、顔認証、画面ロック、またはセキュリティキーでサインインできます。",
    "passkeys.none": "パスキーはまだありません。",
    "passkeys.add": "パスキーを追加",
    "passkeys.addKey": "セキュリティキーを追加",
    "passkeys.synced": "お使いのデバイス間で同期",
    "passkeys.deviceBound": "1台のデバイスに保存",
    "passkeys.created": "{date} に追加",
    "passkeys.lastUsed": "最終使用 {when}",
    "passkeys.neverUsed": "未使用",
    "passkeys.rename": "名前を変更",
    "passkeys.renameLabel": "{name} の名前を変更",
    "passkeys.removeLabel": "{name} を削除",
    "passkeys.remove": "削除",
    "passkeys.name": "名前",
    "passkeys.save": "保存",
    "passkeys.renamed": "パスキーの名前を変更しました。",
    "passkeys.removed": "パスキーを削除しました。",
    "passkeys.added": "パスキーを追加しました。",
    "passkeys.confirmRemove": "パスキー「{name}」を削除しますか？今後このパスキーではサインインできなくなり、ほかのデバイスはサインアウトされます。",
    "passkeys.defaultName": "パスキー",

    "pw.heading": "パスワード",
    "pw.has": "パスワードが設定されています。パスワードの後には必ず2つ目の確認があります。",
    "pw.none": "パスワードは設定されていません。パスキーやメールのコードがあれば不要です。",
    "pw.set": "パスワードを設定",
    "pw.change": "パスワードを変更",
    "pw.remove": "パスワードを削除",
    "pw.new": "新しいパスワード",
    "pw.again": "もう一度入力",
    "pw.rules": "8〜128文字。長いほど安全です。いくつかの単語を組み合わせるのがおすすめです。",
    "pw.save": "パスワードを保存",
    "pw.saved": "パスワードを保存しました。",
    "pw.removed": "パスワードを削除しました。",
    "pw.confirmRemove": "パスワードを削除しますか？パスキーやメールのコードで引き続きサインインできます。ほかのデバイスはサインアウトされます。",

    "activity.heading": "最近のアクティビティ",
    "activity.intro": "サインインとサインイン方法の変更です（新しい順）。心当たりのないものがあれば、すべてのデバイスでサインアウトし、知らないものを削除してください。",
    "activity.none": "まだありません。",
    "activity.more": "さらに表示",
    "activity.sign_in": "{method}でサインイン",
    "activity.sign_in.failed": "{method}でのサインインに失敗",
    "activity.sign_up": "アカウントを作成",
    "activity.refresh_reused": "セッションが2回使われたため（コピーされた可能性）、終了しました",
    "activity.session_ended": "デバイスをサインアウト",
    "activity.all_sessions_ended": "すべてのデバイスでサインアウト",
    "activity.passkey_added": "パスキーを追加",
    "activity.passkey_removed": "パスキーを削除",
    "activity.passkey_renamed": "パスキーの名前を変更",
    "activity.password_set": "パスワードを設定",
    "activity.password_removed": "パスワードを削除",
    "activity.possible_clone.failed": "コピーされた可能性のあるパスキーでのサインインを拒否",
    "activity.possible_clone": "コピーされた可能性のあるパスキーでのサインインを拒否",
    "activity.other": "アカウントを変更",
    "activity.other.failed": "操作が試みられ、拒否されました",
    "activity.method.passkey": "パスキー",
    "activity.method.email_code": "メールのコード",
    "activity.method.email_link": "メールのリンク",
    "activity.method.password": "パスワード",
    "activity.method.password_email": "パスワードとメールのコード",
    "activity.method.password_passkey": "パスワードとパスキー",
    "activity.recovery_codes_created": "新しいリカバリーコードを作成",
    "activity.recovery_code_used": "リカバリーコードを使用",
    "activity.totp_added": "認証アプリを設定",
    "activity.totp_removed": "認証アプリを削除",
    "activity.name_changed": "名前を変更",
    "activity.email_change_started": "メールアドレスの変更を開始",
    "activity.email_changed": "メールアドレスを変更",
    "activity.account_disabled": "管理者がアカウントを無効化",
    "activity.account_enabled": "管理者がアカウントを有効化",
    "activity.method.password_totp": "パスワードと認証アプリ",
    "activity.method.password_recovery_code": "パスワードとリカバリーコード",
    "activity.method.recovery_code": "リカバリーコード",
    "activity.method.other": "その他の方法",
    "sessions.heading": "サインイン中のデバイス",
    "sessions.thisDevice": "このデバイス",
    "sessions.lastActive": "最終アクティブ {when}",
    "sessions.signedInWith": "{method}でサインイン",
    "sessions.signedInWhen": "{when}に{method}でサインイン",
    "sessions.end": "このデバイスをサインアウト",
    "sessions.endLabel": "このデバイスをサインアウト：{device}、{when}にサインイン",
    "sessions.confirmAllTitle": "すべてのデバイスでサインアウトしますか？",
    "passkeys.confirmRemoveTitle": "このパスキーを削除しますか？",
    "pw.confirmRemoveTitle": "パスワードを削除しますか？",
    "sessions.ended": "セッションを終了しました。",
    "sessions.signOutAll": "すべてのデバイスからサインアウト",
    "sessions.confirmAll": "このデバイスを含む、すべてのデバイスからサインアウトしますか？",
    "sessions.unknownDevice": "不明なデバイス",
    "device": "{os} の {browser}",
    "method.passkey": "パスキー",
    "method.email": "メールのリンクまたはコード",
    "method.password": "パスワードと2つ目の確認",
    "method.other": "その他の方法",

    "reauth.heading": "本人確認",
    "reauth.intro": "安全のため、サインイン方法を変更する前に本人確認を行ってください。",
    "reauth.passkey": "パスキーを使う",
    "reauth.email": "コードをメールで受け取る",
    "reauth.sent": "{email} に6桁のコードを送信しました。",
    "reauth.confirm": "確認",
    "reauth.wrongUser": "このパスキーは別のアカウントのものです。",

    "handover.title": "{app} にサインイン · Sesame",
    "handover.heading": "Sesame で {app} にサインイン",
    "handover.intro": "{app} は Sesame でサインインします。はじめての方も、メールアドレスを入力するとアカウントを作成できます。",
    "handover.checking": "{app} にサインインしています…",
    "handover.returning": "{app} に戻っています…",
    "handover.cancel": "キャンセルして {app} に戻る",
    "handover.continue": "{app} に進む",
    "handover.reauthHeading": "本人確認",
    "handover.reauthIntro": "{app} を続けるには、もう一度サインインしてください。",
    "handover.elsewhereHeading": "サインインしました",
    "handover.elsewhere": "別のタブで {app} へのサインインが完了しました。このタブは閉じてかまいません。",
    "handover.goneHeading": "このサインインは有効期限が切れています",
    "handover.gone": "アプリからのサインインは1回だけ、10分間有効です。アプリに戻って、もう一度サインインしてください。",
    "handover.account": "Sesame のアカウントへ",
    "handover.retry": "もう一度試す",

    "consent.heading": "{app} に Sesame アカウントの使用を許可しますか？",
    "consent.as": "{email} でサインイン中",
    "consent.willSee": "許可すると、{app} は次の情報を受け取ります:",
    "consent.later": "許可はいつでも Sesame のアカウントページで取り消せます。",
    "consent.allow": "許可する",
    "consent.deny": "拒否する",
    "consent.switch": "別のアカウントを使う",

    "scope.openid": "次回もあなたと分かるためのアカウント ID",
    "scope.email": "メールアドレス",
    "scope.profile": "名前",
    "scope.offline_access": "使っていない間もサインインしたままにすること",
    "scopeShort.openid": "アカウント ID",
    "scopeShort.email": "メールアドレス",
    "scopeShort.profile": "名前",
    "scopeShort.offline_access": "サインインの維持",

    "stepup.heading": "{app} はパスキーを求めています",
    "stepup.phr": "{app} は、フィッシングや推測ができないパスキーまたはセキュリティキーでのサインインだけを受け付けます。続けるにはそれを使ってください。",
    "stepup.phrh": "{app} は、セキュリティキーか、1台のデバイスだけにあるパスキー（ほかのデバイスと同期されていないもの）だけを受け付けます。続けるにはそれを使ってください。",
    "stepup.use": "パスキーまたはセキュリティキーを使う",
    "stepup.noneYet": "パスキーがまだない場合は、Sesame のアカウントページで追加してから、もう一度 {app} にサインインしてください。",
    "stepup.notEnough": "このパスキーはほかのデバイスと同期されています。{app} には、セキュリティキーか1台のデバイスだけにあるパスキーが必要です。",

    "signout.title": "サインアウト · Sesame",
    "signout.heading": "Sesame からサインアウトしますか？",
    "signout.fromApp": "{app} がサインアウトを求めています。このデバイスで Sesame からサインアウトし、Sesame を使うアプリでは再びサインインが必要になります。",
    "signout.confirm": "サインアウト",
    "signout.stay": "サインインしたままにする",
    "signout.doneHeading": "サインアウトしました",
    "signout.doneText": "このデバイスで Sesame からサインアウトしました。",
    "signout.signIn": "もう一度サインイン",
    "signout.returning": "サインアウトしました。{app} に戻っています…",
    "signout.expired": "このサインアウト要求は有効期限が切れていますが、ここで Sesame からサインアウトできます。",
    "signout.anApp": "アプリ",

    "apps.heading": "アプリ",
    "apps.intro": "Sesame アカウントでのサインインを許可したアプリです。",
    "apps.none": "アカウントの使用を許可したアプリはありません。",
    "apps.sees": "受け取る情報: {list}",
    "apps.allowed": "{date} に許可",
    "apps.lastUsed": "最終使用 {when}",
    "apps.neverUsed": "未使用",
    "apps.remove": "アクセスを取り消す",
    "apps.removeLabel": "{name} のアクセスを取り消す",
    "apps.confirmRemove": "「{name}」のアクセスを取り消しますか？ Sesame アカウントを使えなくなり、次にサインインするときに再び許可を求められます。",
    "apps.removed": "アクセスを取り消しました。",

    "link.forApp": "そのあと {app} に戻ります。",
  },
};

const storeKey = "sesame.lang";
const supported = Object.keys(dict);

function initial() {
  let saved = null;
  try { saved = localStorage.getItem(storeKey); } catch { /* storage blocked */ }
  if (supported.includes(saved)) return saved;
  const fromServer = document.documentElement.lang;
  return supported.includes(fromServer) ? fromServer : "en";
}

let lang = initial();
const rendered = new Map(); // element → [key, vars]
const listeners = [];

// current is the language the page shows.
export function current() { return lang; }

// t returns the text of key in the current language with {name}
// placeholders filled from vars.
export function t(key, vars = {}) {
  let s = dict[lang][key];
  if (s === undefined) {
    console.warn(`i18n: no ${lang} text for ${key}`);
    s = dict.en[key] ?? key;
  }
  return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
}

// has reports whether key has a text (in English at least).
export function has(key) { return key in dict.en; }

// render sets el's content to the text of key; a var that is a Node (a
// <strong>, say) is put in place of its placeholder. It is rendered again
// when the language changes.
export function render(el, key, vars = {}) {
  rendered.set(el, [key, vars]);
  paint(el, key, vars);
}

function paint(el, key, vars) {
  const strings = {}, nodes = {};
  for (const [k, v] of Object.entries(vars)) (v instanceof Node ? nodes : strings)[k] = v;
  const text = t(key, strings);
  const parts = text.split(/\{(\w+)\}/);
  el.replaceChildren(...parts.map((p, i) => (i % 2 === 1 && nodes[p] ? nodes[p] : document.createTextNode(i % 2 ? `{${p}}` : p))));
}

// restore puts back el's own text in the current language: what render
// or data-i18n gave it, else fallback.
export function restore(el, fallback) {
  const r = rendered.get(el);
  if (r) paint(el, ...r);
  else if (el.dataset.i18n) el.textContent = t(el.dataset.i18n);
  else el.textContent = fallback;
}

// clear forgets a rendered element and empties it.
export function clear(el) {
  rendered.delete(el);
  el.textContent = "";
}

// translate puts the current language into the document's static text.
export function translate(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) {
    if (el.getAttribute("aria-busy") === "true") continue; // busy() restores it
    el.textContent = t(el.dataset.i18n);
  }
  for (const el of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  }
  for (const [el, [key, vars]] of rendered) {
    if (el.isConnected) paint(el, key, vars); else rendered.delete(el);
  }
  document.documentElement.classList.add("i18n");
}

// onChange registers fn to run after the language changes.
export function onChange(fn) { listeners.push(fn); }

// setLanguage switches the page to l and, when remember is set (a choice
// the person made), keeps the choice for the next pages. It reports
// whether l is a language the pages speak.
export function setLanguage(l, remember = true) {
  if (!supported.includes(l)) return false;
  lang = l;
  if (remember) {
    try { localStorage.setItem(storeKey, l); } catch { /* storage blocked */ }
  }
  const sel = document.getElementById("lang");
  if (sel) sel.value = l;
  translate();
  for (const fn of listeners) fn(l);
  return true;
}

// setup translates the page and wires the language switch (#lang).
export function setup() {
  translate();
  const sel = document.getElementById("lang");
  if (sel) {
    sel.value = lang;
    sel.addEventListener("change", () => setLanguage(sel.value));
  }
}

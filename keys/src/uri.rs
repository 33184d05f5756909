//! PKCS#11 URIs (RFC 7512) naming an operator key in a token, e.g.
//! `pkcs11:token=dfc;object=operator-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:DFC_PKCS11_PIN`.
//!
//! Path attributes (before `?`, separated by `;`) select the token and the key: `token`,
//! `manufacturer`, `model`, `serial`, `slot-id` for the token; `object` (the key's `CKA_LABEL`),
//! `id` (its `CKA_ID`, percent-encoded bytes) and `type` (must be `private` or `public`) for the
//! key. Query attributes (after `?`, separated by `&`) say how to get there: `module-path` or
//! `module-name` (the PKCS#11 library), and `pin-source` or `pin-value` (the user PIN).
//!
//! `pin-source` takes `env:NAME` (an environment variable: what scripts and tests use),
//! `file:PATH` or an absolute path (the PIN is the file's first line). Without either, the PIN
//! comes from `DFC_PKCS11_PIN`, else a prompt on a terminal.
//!
//! The parser is strict where RFC 7512 leaves room: an attribute given twice, an attribute it
//! does not know, and a malformed percent escape are refused with a [`UriError`] naming them,
//! rather than matching a key the operator did not mean.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// The environment variable holding the token's user PIN when the URI names no PIN source.
pub const PIN_ENV: &str = "DFC_PKCS11_PIN";

/// Where PKCS#11 modules are looked for when a URI gives `module-name` (RFC 7512 leaves the
/// search path to the consumer): Debian's and Fedora's directories.
pub const MODULE_DIRS: &[&str] = &[
    "/usr/lib/x86_64-linux-gnu/pkcs11",
    "/usr/lib/aarch64-linux-gnu/pkcs11",
    "/usr/lib/pkcs11",
    "/usr/lib64/pkcs11",
    "/usr/lib/softhsm",
    "/usr/lib/x86_64-linux-gnu/softhsm",
    "/usr/lib64/softhsm",
];

/// Why a PKCS#11 URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("PKCS#11 URI '{uri}': {why} (expected e.g. pkcs11:token=dfc;object=operator-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:DFC_PKCS11_PIN)")]
pub struct UriError {
    /// The URI as given, with any `pin-value` hidden.
    pub uri: String,
    /// What is wrong.
    pub why: String,
}

/// Where the token's user PIN comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PinSource {
    /// `pin-source=env:NAME`.
    Env(String),
    /// `pin-source=file:PATH` or an absolute path: the file's first line.
    File(PathBuf),
    /// `pin-value=...` in the URI itself.
    Value(String),
    /// No PIN attribute: [`PIN_ENV`], else a prompt on a terminal.
    Default,
}

/// How the module is named.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Module {
    /// `module-path`: the library's path.
    Path(PathBuf),
    /// `module-name`: `lib<name>.so` or `<name>.so` in [`MODULE_DIRS`].
    Name(String),
}

/// A parsed PKCS#11 URI.
#[derive(Clone, PartialEq, Eq)]
pub struct Pkcs11Uri {
    /// `token`: the token's label.
    pub token: Option<String>,
    /// `manufacturer`: the token's manufacturer id.
    pub manufacturer: Option<String>,
    /// `model`: the token's model.
    pub model: Option<String>,
    /// `serial`: the token's serial number.
    pub serial: Option<String>,
    /// `slot-id`: the slot's number.
    pub slot_id: Option<u64>,
    /// `object`: the key's label (`CKA_LABEL`).
    pub object: Option<String>,
    /// `id`: the key's `CKA_ID`.
    pub id: Option<Vec<u8>>,
    /// The module.
    pub module: Module,
    /// The PIN's source.
    pub pin: PinSource,
}

impl std::fmt::Debug for Pkcs11Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Display hides a PIN given in the URI.
        write!(f, "Pkcs11Uri({self})")
    }
}

/// The characters RFC 7512 lets stand unescaped in a value (`pk11-pchar` / `pk11-qchar` less the
/// separators), so a value reads back as it was written.
fn encode(value: &[u8], query: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value {
        let plain = b.is_ascii_alphanumeric()
            || b"-._~:[]@!$'()*+,".contains(&b)
            || (!query && b == b'&')
            || (query && (b == b'/' || b == b'?' || b == b'|' || b == b';'));
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl std::fmt::Display for Pkcs11Uri {
    /// The URI in RFC 7512 form, with a `pin-value` shown as `***`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut path = Vec::new();
        let text = |name: &str, v: &Option<String>, out: &mut Vec<String>| {
            if let Some(v) = v {
                out.push(format!("{name}={}", encode(v.as_bytes(), false)));
            }
        };
        text("token", &self.token, &mut path);
        text("manufacturer", &self.manufacturer, &mut path);
        text("model", &self.model, &mut path);
        text("serial", &self.serial, &mut path);
        if let Some(s) = self.slot_id {
            path.push(format!("slot-id={s}"));
        }
        text("object", &self.object, &mut path);
        if let Some(id) = &self.id {
            let hex: String = id.iter().map(|b| format!("%{b:02X}")).collect();
            path.push(format!("id={hex}"));
        }
        let mut query = Vec::new();
        match &self.module {
            Module::Path(p) => query.push(format!(
                "module-path={}",
                encode(p.to_string_lossy().as_bytes(), true)
            )),
            Module::Name(n) => query.push(format!("module-name={}", encode(n.as_bytes(), true))),
        }
        match &self.pin {
            PinSource::Env(v) => {
                query.push(format!("pin-source=env:{}", encode(v.as_bytes(), true)))
            }
            PinSource::File(p) => query.push(format!(
                "pin-source=file:{}",
                encode(p.to_string_lossy().as_bytes(), true)
            )),
            PinSource::Value(_) => query.push("pin-value=***".into()),
            PinSource::Default => {}
        }
        write!(f, "pkcs11:{}?{}", path.join(";"), query.join("&"))
    }
}

/// Decodes RFC 3986 percent escapes.
fn decode(raw: &str) -> Result<Vec<u8>, String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("'{raw}' has a malformed percent escape"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

fn decode_text(raw: &str, name: &str) -> Result<String, String> {
    String::from_utf8(decode(raw)?).map_err(|_| format!("{name} is not UTF-8 once decoded"))
}

fn set<T>(slot: &mut Option<T>, name: &str, value: T) -> Result<(), String> {
    if slot.is_some() {
        return Err(format!("attribute '{name}' is given twice"));
    }
    *slot = Some(value);
    Ok(())
}

impl std::str::FromStr for Pkcs11Uri {
    type Err = UriError;

    fn from_str(text: &str) -> Result<Self, UriError> {
        parse(text).map_err(|why| UriError {
            uri: hide_pin(text),
            why,
        })
    }
}

/// `text` with the value of any `pin-value` replaced, for error messages.
fn hide_pin(text: &str) -> String {
    let Some((path, query)) = text.split_once('?') else {
        return text.to_string();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|a| {
            if a.starts_with("pin-value=") {
                "pin-value=***".to_string()
            } else {
                a.to_string()
            }
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

fn parse(text: &str) -> Result<Pkcs11Uri, String> {
    let rest = text
        .strip_prefix("pkcs11:")
        .ok_or("a PKCS#11 URI starts with 'pkcs11:'")?;
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, q),
        None => (rest, ""),
    };
    if query.contains('?') {
        return Err("more than one '?'".into());
    }
    let mut uri = Pkcs11Uri {
        token: None,
        manufacturer: None,
        model: None,
        serial: None,
        slot_id: None,
        object: None,
        id: None,
        module: Module::Name(String::new()),
        pin: PinSource::Default,
    };
    for attr in path.split(';').filter(|a| !a.is_empty()) {
        let (name, raw) = attr
            .split_once('=')
            .ok_or_else(|| format!("path attribute '{attr}' lacks '='"))?;
        match name {
            "token" => set(&mut uri.token, name, decode_text(raw, name)?)?,
            "manufacturer" => set(&mut uri.manufacturer, name, decode_text(raw, name)?)?,
            "model" => set(&mut uri.model, name, decode_text(raw, name)?)?,
            "serial" => set(&mut uri.serial, name, decode_text(raw, name)?)?,
            "object" => set(&mut uri.object, name, decode_text(raw, name)?)?,
            "id" => set(&mut uri.id, name, decode(raw)?)?,
            "slot-id" => {
                let n = decode_text(raw, name)?
                    .parse::<u64>()
                    .map_err(|_| format!("slot-id '{raw}' is not a number"))?;
                set(&mut uri.slot_id, name, n)?;
            }
            "type" => match decode_text(raw, name)?.as_str() {
                // The signer uses the private key and reads its public half: either names the pair.
                "private" | "public" => {}
                other => {
                    return Err(format!(
                        "type={other}: an operator key is a key pair (type=private)"
                    ))
                }
            },
            other => {
                return Err(format!(
                    "unsupported path attribute '{other}' (known: token, manufacturer, model, serial, slot-id, object, id, type)"
                ))
            }
        }
    }
    let (mut module_path, mut module_name, mut pin_source, mut pin_value) =
        (None, None, None, None);
    for attr in query.split('&').filter(|a| !a.is_empty()) {
        let (name, raw) = attr
            .split_once('=')
            .ok_or_else(|| format!("query attribute '{attr}' lacks '='"))?;
        match name {
            "module-path" => set(&mut module_path, name, decode_text(raw, name)?)?,
            "module-name" => set(&mut module_name, name, decode_text(raw, name)?)?,
            "pin-source" => set(&mut pin_source, name, decode_text(raw, name)?)?,
            "pin-value" => set(&mut pin_value, name, decode_text(raw, name)?)?,
            other => {
                return Err(format!(
                    "unsupported query attribute '{other}' (known: module-path, module-name, pin-source, pin-value)"
                ))
            }
        }
    }
    uri.module = match (module_path, module_name) {
        (Some(p), None) if Path::new(&p).is_absolute() => Module::Path(PathBuf::from(p)),
        (Some(p), None) => return Err(format!("module-path '{p}' is not an absolute path")),
        (None, Some(n)) if !n.is_empty() && !n.contains('/') => Module::Name(n),
        (None, Some(n)) => return Err(format!("module-name '{n}' must be a bare library name")),
        (Some(_), Some(_)) => return Err("give module-path or module-name, not both".into()),
        (None, None) => {
            return Err(
                "no module: add ?module-path=/path/to/the/pkcs11/library.so (or module-name=)"
                    .into(),
            )
        }
    };
    uri.pin = match (pin_source, pin_value) {
        (Some(_), Some(_)) => return Err("give pin-source or pin-value, not both".into()),
        (None, Some(v)) => PinSource::Value(v),
        (Some(s), None) => {
            if let Some(var) = s.strip_prefix("env:") {
                if var.is_empty() {
                    return Err("pin-source=env: names no variable".into());
                }
                PinSource::Env(var.to_string())
            } else if let Some(path) = s.strip_prefix("file://") {
                PinSource::File(PathBuf::from(path))
            } else if let Some(path) = s.strip_prefix("file:") {
                PinSource::File(PathBuf::from(path))
            } else if Path::new(&s).is_absolute() {
                PinSource::File(PathBuf::from(s))
            } else {
                return Err(format!(
                    "pin-source '{s}' is neither env:NAME, file:PATH nor an absolute path"
                ));
            }
        }
        (None, None) => PinSource::Default,
    };
    if uri.object.is_none() && uri.id.is_none() {
        return Err("no key named: add object=LABEL (or id=...)".into());
    }
    Ok(uri)
}

/// Why the PIN could not be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the token's PIN: {0}")]
pub struct PinError(pub String);

impl Pkcs11Uri {
    /// The module's path: `module-path`, or `module-name` found in [`MODULE_DIRS`]. `None` when
    /// a named module is in none of them (the caller reports it missing).
    pub fn module_path(&self) -> Result<PathBuf, PathBuf> {
        match &self.module {
            Module::Path(p) => Ok(p.clone()),
            Module::Name(n) => {
                let candidates: Vec<PathBuf> = MODULE_DIRS
                    .iter()
                    .flat_map(|d| [format!("{d}/lib{n}.so"), format!("{d}/{n}.so")])
                    .map(PathBuf::from)
                    .collect();
                candidates
                    .iter()
                    .find(|p| p.exists())
                    .cloned()
                    .ok_or_else(|| PathBuf::from(format!("lib{n}.so")))
            }
        }
    }

    /// The user PIN, from the URI's source.
    pub fn pin(&self) -> Result<Zeroizing<String>, PinError> {
        match &self.pin {
            PinSource::Value(v) => Ok(Zeroizing::new(v.clone())),
            PinSource::Env(var) => std::env::var(var)
                .map(Zeroizing::new)
                .map_err(|_| PinError(format!("the environment variable {var} is not set"))),
            PinSource::File(path) => {
                let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
                    PinError(format!("cannot read the PIN file {}: {e}", path.display()))
                })?);
                Ok(Zeroizing::new(
                    text.lines().next().unwrap_or_default().to_string(),
                ))
            }
            PinSource::Default => {
                if let Ok(pin) = std::env::var(PIN_ENV) {
                    return Ok(Zeroizing::new(pin));
                }
                if !std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                    return Err(PinError(format!(
                        "no pin-source in the URI, {PIN_ENV} is not set and there is no terminal to ask on"
                    )));
                }
                rpassword::prompt_password(format!("PIN for {self}: "))
                    .map(Zeroizing::new)
                    .map_err(|e| PinError(format!("reading the PIN: {e}")))
            }
        }
    }

    /// A short name of the key for messages: the token and object labels.
    pub fn key_name(&self) -> String {
        let token = self.token.as_deref().unwrap_or("(any token)");
        match (&self.object, &self.id) {
            (Some(o), _) => format!("token '{token}', object '{o}'"),
            (None, Some(id)) => format!("token '{token}', id {}", hex::encode(id)),
            (None, None) => format!("token '{token}'"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOFTHSM: &str = "pkcs11:token=dfc;object=operator-1?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=env:DFC_PKCS11_PIN";

    fn err(text: &str) -> String {
        text.parse::<Pkcs11Uri>().expect_err(text).why
    }

    #[test]
    fn the_documented_form_parses_and_round_trips() {
        let uri: Pkcs11Uri = SOFTHSM.parse().expect("parses");
        assert_eq!(uri.token.as_deref(), Some("dfc"));
        assert_eq!(uri.object.as_deref(), Some("operator-1"));
        assert_eq!(
            uri.module,
            Module::Path("/usr/lib/softhsm/libsofthsm2.so".into())
        );
        assert_eq!(uri.pin, PinSource::Env("DFC_PKCS11_PIN".into()));
        assert_eq!(uri.to_string(), SOFTHSM);
        assert_eq!(uri.to_string().parse::<Pkcs11Uri>().expect("again"), uri);
    }

    #[test]
    fn percent_escapes_ids_and_pin_sources_decode() {
        let uri: Pkcs11Uri = "pkcs11:token=My%20Token;id=%01%FF;slot-id=3?module-name=softhsm2&pin-source=file:/run/pin"
            .parse()
            .expect("parses");
        assert_eq!(uri.token.as_deref(), Some("My Token"));
        assert_eq!(uri.id, Some(vec![1, 0xff]));
        assert_eq!(uri.slot_id, Some(3));
        assert_eq!(uri.module, Module::Name("softhsm2".into()));
        assert_eq!(uri.pin, PinSource::File("/run/pin".into()));
        let back: Pkcs11Uri = uri.to_string().parse().expect("round trip");
        assert_eq!(back, uri);
    }

    #[test]
    fn a_pin_value_never_shows() {
        let uri: Pkcs11Uri = "pkcs11:object=k?module-path=/m.so&pin-value=9999"
            .parse()
            .expect("parses");
        assert_eq!(uri.pin().expect("value").as_str(), "9999");
        assert!(!uri.to_string().contains("9999"));
        assert!(!format!("{uri:?}").contains("9999"));
        let e = "pkcs11:object=k;bogus=1?module-path=/m.so&pin-value=9999"
            .parse::<Pkcs11Uri>()
            .expect_err("bogus");
        assert!(!e.to_string().contains("9999"), "{e}");
    }

    #[test]
    fn malformed_uris_are_refused_with_the_reason() {
        assert!(err("token=dfc").contains("starts with 'pkcs11:'"));
        assert!(err("pkcs11:token=dfc;object=k").contains("no module"));
        assert!(err("pkcs11:token=dfc?module-path=/m.so").contains("no key named"));
        assert!(err("pkcs11:object=a;object=b?module-path=/m.so").contains("twice"));
        assert!(err("pkcs11:object=a;colour=red?module-path=/m.so").contains("'colour'"));
        assert!(err("pkcs11:object=a?module-path=/m.so&pin-sorce=env:X").contains("'pin-sorce'"));
        assert!(err("pkcs11:object=a%2?module-path=/m.so").contains("percent escape"));
        assert!(err("pkcs11:object=a?module-path=lib.so").contains("absolute"));
        assert!(
            err("pkcs11:object=a;type=secret-key?module-path=/m.so").contains("type=secret-key")
        );
        assert!(err("pkcs11:object=a?module-path=/m.so&pin-source=env:").contains("no variable"));
        assert!(err("pkcs11:object=a?module-path=/m.so&pin-source=secret").contains("pin-source"));
        assert!(err("pkcs11:object=a?module-path=/m.so&module-name=softhsm2").contains("not both"));
        assert!(err("pkcs11:object=a;slot-id=x?module-path=/m.so").contains("slot-id"));
    }

    #[test]
    fn a_missing_pin_variable_is_named() {
        let uri: Pkcs11Uri =
            "pkcs11:object=a?module-path=/m.so&pin-source=env:DFC_TEST_NO_SUCH_PIN_VAR"
                .parse()
                .expect("parses");
        let e = uri.pin().expect_err("unset");
        assert!(e.to_string().contains("DFC_TEST_NO_SUCH_PIN_VAR"), "{e}");
    }

    #[test]
    fn a_module_name_not_installed_is_reported() {
        let uri: Pkcs11Uri = "pkcs11:object=a?module-name=no-such-module-dfc"
            .parse()
            .expect("parses");
        assert_eq!(
            uri.module_path().expect_err("missing"),
            PathBuf::from("libno-such-module-dfc.so")
        );
    }
}

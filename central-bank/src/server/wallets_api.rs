//! The registry endpoints: registering a wallet, the registry listing (operators and auditors
//! only) and one wallet's record (its owner, or operators).

use super::*;

#[utoipa::path(post, path = "/v1/wallets", operation_id = "register_wallet", tag = "wallets",
    request_body = RegisterRequest,
    responses((status = 200, description = "The registry record (the existing one on re-registration)", body = WalletInfo),
              (status = 400, description = "`malformed_json`, `wrong_network`, `label_too_long`, `bad_signature`", body = ApiError),
              (status = 409, description = "`purse_key`: a certified purse key cannot register as a wallet", body = ApiError)))]
pub(super) async fn register(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<RegisterRequest>,
) -> Result<Json<WalletInfo>, ApiErr> {
    let network = s.params().network_id;
    if req.address.network != network {
        return Err(ApiErr::bad_request(
            "wrong_network",
            format!(
                "address is for network {}, this is network {network}",
                req.address.network
            ),
        ));
    }
    if req.label.len() > 64 {
        return Err(ApiErr::bad_request(
            "label_too_long",
            format!("label of {} bytes is over the limit of 64", req.label.len()),
        ));
    }
    let h = RegisterRequest::signing_hash(&req.address, &req.label);
    if !req.address.spend.verify(&h.0, &req.signature) {
        return Err(ApiErr::bad_request(
            "bad_signature",
            "the registration is not signed by the address's spend key",
        ));
    }
    let info = WalletInfo {
        address: req.address,
        label: req.label,
        tier: 0,
        frozen: false,
        flags: 0,
        registered_ms: now_ms(),
        registry_version: 0,
        freeze_reason: None,
    };
    Ok(Json(
        s.send(|reply| Command::Register { info, reply }).await?,
    ))
}

#[utoipa::path(get, path = "/v1/wallets", operation_id = "list_wallets", tag = "wallets",
    responses((status = 200, description = "The registry, at most 10,000 wallets", body = Vec<WalletInfo>),
              (status = 401, description = "`read_auth_required`, `bad_read_credential`, `bad_read_signature`, `stale_read_credential`, `replayed_read_credential`: no or bad read credential (`x-dfc-read`)", body = ApiError),
              (status = 403, description = "`read_forbidden`: the key may not read this", body = ApiError)))]
pub(super) async fn wallets(
    State(s): State<AppState>,
    reader: Reader,
) -> Result<Json<Vec<WalletInfo>>, ApiErr> {
    reader.require_privileged("the registry listing")?;
    Ok(Json(s.read(|c| Ok(store::wallets(c, MAX_LIST)?)).await?))
}

#[utoipa::path(get, path = "/v1/wallets/{key}", operation_id = "get_wallet", tag = "wallets",
    params(("key" = PublicKey, Path, description = "The wallet's spend key, 64 hex digits")),
    responses((status = 200, description = "The registry record", body = WalletInfo),
              (status = 400, description = "`malformed_id`: not 64 hex digits", body = ApiError),
              (status = 404, description = "`unknown_wallet` (also for hex that is not a valid key: no wallet has it)", body = ApiError),
              (status = 401, description = "`read_auth_required`, `bad_read_credential`, `bad_read_signature`, `stale_read_credential`, `replayed_read_credential`: no or bad read credential (`x-dfc-read`)", body = ApiError)))]
pub(super) async fn wallet(
    State(s): State<AppState>,
    reader: Reader,
    UrlPath(key): UrlPath<String>,
) -> Result<Json<WalletInfo>, ApiErr> {
    let Some(key) = parse_key_lookup(&key)? else {
        return Err(ApiErr::not_found(
            "unknown_wallet",
            format!("no wallet has the key {key}: it is not a valid public key"),
        ));
    };
    // A payer must state its payee's tier in the transaction, so any signed reader learns a
    // wallet's tier and whether it is frozen (a payment to it would be refused anyway); the
    // label, flags and registration time are its holder's and the readers' only.
    let full = reader
        .require_self_or_privileged(&key, "the registry entry")
        .is_ok();
    let w = s.read(move |c| Ok(store::wallet(c, &key)?)).await?;
    let w = w.map(|w| {
        if full {
            w
        } else {
            WalletInfo {
                label: String::new(),
                flags: 0,
                registered_ms: 0,
                ..w
            }
        }
    });
    w.map(Json).ok_or_else(|| {
        ApiErr::not_found(
            "unknown_wallet",
            format!("wallet {} is not registered", hex::encode(key.to_bytes())),
        )
    })
}

/// A key to look up: `None` for 64 hex digits that are not a valid public key, which no wallet
/// can have (a lookup answers "not found" rather than "malformed"); 400 for text that is not 32
/// bytes of hex.
pub(crate) fn parse_key_lookup(text: &str) -> Result<Option<PublicKey>, ApiErr> {
    let bytes = parse_hash(text, "key")?;
    Ok(PublicKey::from_bytes(&bytes.0).ok())
}

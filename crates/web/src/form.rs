//! The pages' form extractor: `application/x-www-form-urlencoded` fields, every one held to the
//! text rule (`hexyard_core::text`) before the form is read into its type, so a control
//! character is a 422 naming the field, never a value that reaches storage.

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use futures_util::future::LocalBoxFuture;
use hexyard_service::Error;
use serde::de::DeserializeOwned;

use crate::session::PageError;

/// A form's fields as `T`.
#[derive(Debug)]
pub struct Form<T>(pub T);

impl<T> Form<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Form<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Form<T> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            let bytes = body.await.map_err(|_| Error::BadRequest("the form could not be read".into()))?;
            let fields: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&bytes).map_err(|_| Error::BadRequest("invalid form".into()))?;
            for (name, value) in &fields {
                if let Some(c) =
                    hexyard_core::text::forbidden_char(name).or_else(|| hexyard_core::text::forbidden_char(value))
                {
                    return Err(Error::field(name, hexyard_core::text::message(c)).into());
                }
            }
            serde_urlencoded::from_bytes(&bytes)
                .map(Form)
                .map_err(|e| Error::BadRequest(format!("invalid form: {e}")).into())
        })
    }
}
